"""What every route shares: the UI object (workspace, jobs, templates, caches) and small helpers.

Kept apart from app.py so the route modules and the app factory do not import each other.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..errors import InputError
from .facegrid import FaceIndex
from .jobs import FINAL, Job, JobStore, Runner
from .paths import Workspace
from .security import new_token

if TYPE_CHECKING:
    from .trainview import EventReader

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
        self.readers: dict[Path, EventReader] = {}
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(version=__version__, rel=self.rel)

    def rel(self, path: str | Path) -> str:
        """Workspace-relative name for a template (absolute paths of jobs shown short)."""
        try:
            return self.ws.rel(Path(path))
        except ValueError:
            return str(path)

    def page(self, request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        context.update(csrf=self.csrf, workspace=str(self.ws.root), nav=request.url.path)
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def submit(self, kind: str, title: str, stage: str, kwargs: dict, queue: str | None = None) -> Job:
        """A job for ``stage`` with keyword arguments; the queue is the device it asks for."""
        device = str(kwargs.get("device", "auto") or "auto")
        return self.runner.submit(kind, title, {"stage": stage, "kwargs": kwargs}, queue or f"device:{device}")


def ui_of(request: Request) -> UI:
    return request.app.state.ui


def sse(request: Request, produce: Callable[[], tuple[dict[str, Any], bool]], interval: float = 1.0,
        once: bool = False) -> StreamingResponse:
    """Server-sent events: ``produce()`` returns (data dict, finished); sent every ``interval`` s."""

    async def stream():
        while True:
            data, finished = await asyncio.get_running_loop().run_in_executor(None, produce)
            yield f"data: {json.dumps(data)}\n\n"
            if finished or once or await request.is_disconnected():
                break
            await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def job_done(job: Job | None) -> bool:
    return job is None or job.status in FINAL


def when(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


def after(request: Request, job: Job) -> Response:
    """The answer to a request that made or changed a job: a fragment, JSON, or a redirect."""
    if request.headers.get("hx-request"):
        resp = HTMLResponse(f'<span class="status {job.status}">job {job.id}: {job.status}</span>')
        resp.headers["HX-Trigger"] = "jobs-changed"
        return resp
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(job.to_json())
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")


def safe_name(value: object, what: str) -> str:
    """A plain file or folder name (no separators, not hidden)."""
    text = value.strip() if isinstance(value, str) else ""
    if not NAME.match(text) or ".." in text:
        raise InputError(f"{what} {text!r}: use letters, digits, '.', '_', '-' (no slashes)")
    return text
