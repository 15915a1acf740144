"""Routes: the home page and the jobs (list, one job's log and state live, cancel, resume)."""
from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from ..errors import InputError
from .core import UI, after, job_done, sse, ui_of, when
from .jobs import Job

router = APIRouter()


def _job_or_404(request: Request, job_id: int) -> Job:
    job = ui_of(request).jobs.get(job_id)
    if job is None:
        raise InputError(f"no job {job_id}")
    return job


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    ws = ui.ws
    return ui.page(request, "index.html", sources=ws.sources(), face_sets=ws.face_sets(), models=ws.models(),
                   outputs=ws.outputs(), jobs=ui.jobs.list(limit=8), when=when)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    return ui.page(request, "jobs.html", jobs=ui.jobs.list(), when=when)


@router.get("/fragments/jobs", response_class=HTMLResponse)
def jobs_fragment(request: Request, kind: str | None = None, limit: int = 20) -> HTMLResponse:
    ui = ui_of(request)
    return ui.page(request, "_jobs.html", jobs=ui.jobs.list(kind=kind, limit=limit), when=when,
                   progress=lambda job: extract_progress(ui, job))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int) -> HTMLResponse:
    ui = ui_of(request)
    job = _job_or_404(request, job_id)
    return ui.page(request, "job.html", job=job, log=ui.jobs.log_tail(job_id), when=when)


@router.get("/api/jobs")
def jobs_json(request: Request, kind: str | None = None) -> JSONResponse:
    return JSONResponse([j.to_json() for j in ui_of(request).jobs.list(kind=kind)])


@router.get("/api/jobs/{job_id}")
def job_json(request: Request, job_id: int) -> JSONResponse:
    job = _job_or_404(request, job_id)
    return JSONResponse(job.to_json() | {"log": ui_of(request).jobs.log_tail(job_id)})


@router.get("/jobs/{job_id}/events")
def job_events(request: Request, job_id: int, once: bool = False) -> StreamingResponse:
    """The job's state and log tail, every second, until it ends."""
    ui = ui_of(request)
    _job_or_404(request, job_id)

    def produce():
        job = ui.jobs.get(job_id)
        data = job.to_json() | {"log": ui.jobs.log_tail(job_id, 4000)}
        data.update(extract_progress(ui, job))
        return data, job_done(job)

    return sse(request, produce, once=once)


def extract_progress(ui: UI, job: Job) -> dict:
    """Frames done and faces found so far, from the store the extract is filling."""
    if job.kind != "extract":
        return {}
    kw = job.spec.get("kwargs", {})
    store, faces = kw.get("store"), kw.get("faces_dir")
    out: dict = {}
    try:
        from ..store.alignments import AlignmentsStore

        if store and Path(store).exists():
            with AlignmentsStore.open(Path(store), readonly=True) as db:
                out["frames_done"] = db.last_frame() + 1
                out["faces_in_store"] = db.face_count()
    except Exception:  # the store may be mid-creation; the next tick reads it
        pass
    if faces and Path(faces).is_dir():
        out["faces_found"] = sum(1 for _ in Path(faces).glob("*.png"))
    if job.started and "frames_done" in out:
        end = job.finished or time.time()
        out["frames_per_s"] = round(out["frames_done"] / max(end - job.started, 1e-3), 1)
    return out


@router.post("/jobs/{job_id}/cancel")
def job_cancel(request: Request, job_id: int) -> Response:
    _job_or_404(request, job_id)
    job = ui_of(request).runner.cancel(job_id)
    if job is None:  # removed between the two reads
        raise InputError(f"no job {job_id}")
    return after(request, job)


@router.post("/jobs/{job_id}/resume")
def job_resume(request: Request, job_id: int) -> Response:
    old = _job_or_404(request, job_id)
    job = ui_of(request).runner.resume(job_id)
    if job is None:
        raise InputError(f"job {job_id} is {old.status}; only interrupted, cancelled or failed jobs resume")
    return after(request, job)
