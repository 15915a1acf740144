"""The FastAPI application: ``create_app(workspace, host, token)`` wires pages, jobs and guards.

Why this shape: the server renders HTML with Jinja templates and htmx swaps fragments, so the
pages work without a JavaScript build and test well with a plain HTTP client; the only scripts
are vendored files (htmx, uPlot) and one small app.js for the live training view (server-sent
events). Routes live in ``routes_*`` modules by page; this module holds what they share.
"""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..errors import TwofaceError
from .facegrid import FaceIndex
from .jobs import FINAL, JobStore, Runner
from .paths import PathRefused, Workspace
from .security import Guard, check_binding, new_token

HERE = Path(__file__).resolve().parent
MAX_UPLOAD_MB = 2048


class UI:
    """What every route needs: the workspace, the jobs, the templates and the caches."""

    def __init__(self, workspace: Path, token: str | None, max_upload_mb: int):
        self.ws = Workspace(workspace)
        self.jobs = JobStore(self.ws.state)
        self.runner = Runner(self.jobs, self.ws.root)
        self.token = token
        self.csrf = token or new_token()
        self.max_upload = int(max_upload_mb) * 1024 * 1024
        self.faces = FaceIndex()
        self.readers: dict[Path, object] = {}
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(version=__version__, rel=self.rel)

    def rel(self, path) -> str:
        """Workspace-relative name for a template (absolute paths of jobs shown short)."""
        try:
            return self.ws.rel(Path(path))
        except ValueError:
            return str(path)

    def page(self, request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        context.update(csrf=self.csrf, workspace=str(self.ws.root), nav=request.url.path)
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def submit(self, kind: str, title: str, stage: str, kwargs: dict, queue: str | None = None):
        """A job for ``stage`` with keyword arguments; the queue is the device it asks for."""
        device = str(kwargs.get("device", "auto") or "auto")
        return self.runner.submit(kind, title, {"stage": stage, "kwargs": kwargs}, queue or f"device:{device}")


def create_app(workspace: str | Path, host: str = "127.0.0.1", token: str | None = None,
               max_upload_mb: int = MAX_UPLOAD_MB, start_jobs: bool = True) -> FastAPI:
    """Build the app for ``workspace``; refuses a non-loopback ``host`` without a ``token``."""
    check_binding(host, token)
    ui = UI(Path(workspace), token, max_upload_mb)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_jobs:
            ui.runner.start()
        try:
            yield
        finally:
            if start_jobs:
                await asyncio.get_running_loop().run_in_executor(None, ui.runner.stop)

    app = FastAPI(title="twoface", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ui = ui
    app.add_middleware(Guard, token=token, csrf=ui.csrf)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(TwofaceError)
    async def twoface_error(request: Request, err: TwofaceError):
        status = 403 if isinstance(err, PathRefused) else 400
        if request.headers.get("hx-request") or "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(f'<p class="error" role="alert">{_escape(str(err))}</p>', status_code=status)
        return JSONResponse({"error": str(err)}, status_code=status)

    from . import routes_convert, routes_faces, routes_jobs, routes_sources, routes_train

    for module in (routes_jobs, routes_sources, routes_faces, routes_train, routes_convert):
        app.include_router(module.router)

    @app.get("/media")
    def media(request: Request, path: str, download: bool = False):
        """Any file inside the workspace (previews, outputs), path-checked."""
        real = ui.ws.resolve(path, must_exist=True)
        if not real.is_file():
            raise PathRefused(f"{path!r} is not a file")
        headers = {"Cache-Control": "no-store"}
        return FileResponse(real, headers=headers, filename=real.name if download else None)

    return app


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ui_of(request: Request) -> UI:
    return request.app.state.ui


def sse(request: Request, produce, interval: float = 1.0, once: bool = False) -> StreamingResponse:
    """Server-sent events: ``produce()`` returns (data dict, finished); sent every ``interval`` s."""

    async def stream():
        while True:
            data, finished = await asyncio.get_running_loop().run_in_executor(None, produce)
            yield f"data: {json.dumps(data)}\n\n"
            if finished or once or await request.is_disconnected():
                break
            await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def job_done(job) -> bool:
    return job is None or job.status in FINAL


def when(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""
