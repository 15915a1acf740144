"""Routes: start/stop/resume training, the live view (preview, charts, faces/s, ETA), snapshot
now, and "try a conversion" from the latest save while training goes on."""
from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from ..errors import InputError
from . import trainview as tv
from .core import UI, after, job_done, safe_name, sse, ui_of, when
from .forms import parse_form, train_fields
from .jobs import SIDE_QUEUE
from .paths import PathRefused

router = APIRouter()


def _model(request: Request, rel: object) -> Path:
    folder = ui_of(request).ws.resolve(rel)
    if folder.exists() and not folder.is_dir():
        raise PathRefused(f"{rel!r} is not a model folder")
    return folder


def _training_job(ui, model: Path):
    for job in ui.jobs.list(kind="train", limit=50):
        if Path(job.spec["kwargs"].get("model_dir", "")) == model:
            return job
    return None


@router.get("/train", response_class=HTMLResponse)
def train_page(request: Request, model: str | None = None) -> HTMLResponse:
    ui = ui_of(request)
    models = ui.ws.models()
    return ui.page(request, "train.html", face_sets=ui.ws.face_sets(), models=models, fields=train_fields(),
                   model=model, sources=ui.ws.sources(), jobs=ui.jobs.list(kind="train", limit=10), when=when)


@router.post("/train")
async def train_job(request: Request):
    ui = ui_of(request)
    form = await request.form()
    faces_a = ui.ws.resolve(form.get("faces_a"), must_exist=True)
    faces_b = ui.ws.resolve(form.get("faces_b"), must_exist=True)
    name = safe_name(form.get("model") or "", "model name")
    model = ui.ws.resolve(f"models/{name}")
    running = _training_job(ui, model)
    if running is not None and not job_done(running):
        raise InputError(f"models/{name} is already training (job {running.id}); stop it first")
    options = parse_form(train_fields(), form)
    kwargs = {"faces_a": str(faces_a), "faces_b": str(faces_b), "model_dir": str(model), **options}
    from ..train.options import TrainOptions

    TrainOptions(**kwargs)  # validates (with the CLI's flag names in its messages) before queuing
    job = ui.submit("train", f"train models/{name}", "train", kwargs)
    if request.headers.get("hx-request"):
        resp = HTMLResponse(f'<p class="ok">job {job.id} queued: <a href="/train/view?model=models/{name}">'
                            f'live view</a></p>')
        resp.headers["HX-Redirect"] = f"/train/view?model=models/{name}"
        return resp
    return after(request, job)


@router.get("/train/view", response_class=HTMLResponse)
def train_view(request: Request, model: str) -> HTMLResponse:
    ui = ui_of(request)
    folder = _model(request, model)
    job = _training_job(ui, folder)
    return ui.page(request, "train_view.html", model=ui.ws.rel(folder), job=job, sources=ui.ws.sources(),
                   snapshots=_snapshots(folder))


def _snapshots(folder: Path) -> list[str]:
    snaps = folder / "snapshots"
    return sorted((p.name for p in snaps.iterdir() if p.is_dir()), key=lambda n: int(n) if n.isdigit() else 0) \
        if snaps.is_dir() else []


def live_data(ui: UI, folder: Path) -> tuple[dict, bool]:
    """Everything the live view draws: chart columns, preview stamp, speed, ETA, job state."""
    reader = ui.readers.get(folder)
    if reader is None:
        reader = ui.readers[folder] = tv.EventReader(folder)
    try:
        series = reader.read()
    except Exception:  # an event file mid-write: the next tick reads on
        series = {}
    if not series.get("loss/a"):
        series = {**tv.state_curve(folder), **{k: v for k, v in series.items() if v}}
    job = _training_job(ui, folder)
    stats = tv.console_stats(ui.jobs.log_tail(job.id, 20000)) if job else {}
    preview = folder / "previews" / "latest.jpg"
    job_json = job.to_json() if job else None
    if job_json is not None:
        job_json.pop("spec", None)
    data = {"chart": tv.chart_payload(series), "stats": stats, "saved_iteration": tv.saved_iteration(folder),
            "preview": int(preview.stat().st_mtime_ns) if preview.exists() else None,
            "preview_url": f"/media?path={ui.ws.rel(preview)}" if preview.exists() else None,
            "job": job_json, "snapshots": _snapshots(folder), "time": time.time()}
    return data, False


@router.get("/train/events")
def train_events(request: Request, model: str, once: bool = False) -> StreamingResponse:
    ui = ui_of(request)
    folder = _model(request, model)
    return sse(request, lambda: live_data(ui, folder), interval=1.0, once=once)


@router.get("/api/train")
def train_json(request: Request, model: str) -> JSONResponse:
    ui = ui_of(request)
    return JSONResponse(live_data(ui, _model(request, model))[0])


@router.post("/train/snapshot")
async def snapshot_now(request: Request):
    """Ask the running trainer to save and keep a snapshot after its current step."""
    ui = ui_of(request)
    form = await request.form()
    folder = _model(request, form.get("model"))
    job = _training_job(ui, folder)
    if job is None or job.status != "running":
        raise InputError(f"{form.get('model')} is not training; a snapshot is taken from a running training")
    from ..train.trainer import SNAPSHOT_REQUEST  # the trainer checks for this file between steps

    (folder / SNAPSHOT_REQUEST).write_text(str(time.time()))
    return HTMLResponse('<span class="ok">snapshot requested: it is saved after the current step</span>')


@router.post("/train/try")
async def try_conversion(request: Request):
    """Convert a few seconds of a clip from the latest save, as a job beside the training."""
    ui = ui_of(request)
    form = await request.form()
    folder = _model(request, form.get("model"))
    if not (folder / "weights.safetensors").exists():
        raise InputError(f"{form.get('model')} has no saved checkpoint yet; wait for the first save")
    source = ui.ws.resolve(form.get("input"), must_exist=True)
    seconds = float(str(form.get("seconds") or 3))
    if not 0 < seconds <= 60:
        raise InputError("seconds must be from 0 to 60")
    from ..media import open_media

    fps = float(getattr(open_media(source).info, "fps", 25) or 25)
    it = tv.saved_iteration(folder) or 0
    out = ui.ws.resolve(f"outputs/try-{folder.name}-{it}-{int(time.time())}.mp4")
    kwargs = {"input": str(source), "model": str(folder), "output": str(out), "progress": False,
              "frames": f"0-{max(0, int(seconds * fps) - 1)}", "keep_unchanged": False}  # only those seconds
    job = ui.submit("convert", f"try {folder.name} at iteration {it} on {source.name}", "convert", kwargs,
                    queue=SIDE_QUEUE)
    return after(request, job)
