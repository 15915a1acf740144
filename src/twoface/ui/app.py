"""The FastAPI application: ``create_app(workspace, host, token)`` wires pages, jobs and guards.

Why this shape: the server renders HTML with Jinja templates and htmx swaps fragments, so the
pages work without a JavaScript build and test well with a plain HTTP client; the only scripts
are vendored files (htmx, uPlot) and one small app.js for the live training view (server-sent
events). Routes live in ``routes_*`` modules by page; what they share is in core.py.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import TwofaceError
from . import routes_convert, routes_faces, routes_jobs, routes_sources, routes_train
from .core import HERE, MAX_UPLOAD_MB, UI
from .paths import PathRefused
from .security import Guard, check_binding


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


