"""Routes: convert (side-by-side preview of chosen frames, the full run as a job, play/download)
and evaluate (the job, and the report as a page)."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import threading
import time

import cv2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..errors import InputError
from .core import after, safe_name, ui_of, when
from .forms import FormField, convert_fields, option_fields, parse_form
from .paths import PathRefused

router = APIRouter()
PREVIEW_FRAMES = 4
_preview_lock = threading.Lock()  # one preview at a time: each one loads a model and decodes frames


def _evaluate_fields() -> list[FormField]:
    """The EvaluateOptions fields the page offers (one declaration: the dataclass evaluate() reads)."""
    from ..evaluate import EvaluateOptions

    shown = ("max_faces", "gallery_faces", "max_frames", "device", "precision")
    skip = tuple(f.name for f in dataclasses.fields(EvaluateOptions) if f.name not in shown)
    return option_fields(EvaluateOptions, skip=skip, primary=("max_faces", "gallery_faces", "max_frames"))


@router.get("/convert", response_class=HTMLResponse)
def convert_page(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    outputs = [o for o in ui.ws.outputs() if o.lower().endswith((".mp4", ".mov", ".m4v", ".mkv", ".gif"))]
    return ui.page(request, "convert.html", sources=ui.ws.sources(), models=ui.ws.models(), fields=convert_fields(),
                   outputs=outputs, jobs=ui.jobs.list(kind="convert", limit=10), when=when)


def _pick_frames(count: int, text: str | None) -> list[int]:
    if text and text.strip():
        try:
            frames = [int(t) for t in text.replace(" ", "").split(",") if t]
        except ValueError:
            raise InputError(f"preview frames: write frame numbers like 10,40,80, got {text!r}") from None
        return sorted(set(f for f in frames if f >= 0))[:8]
    count = max(count, 1)
    return sorted(set(int(count * (i + 0.5) / PREVIEW_FRAMES) for i in range(PREVIEW_FRAMES)))


@router.post("/convert/preview", response_class=HTMLResponse)
async def convert_preview(request: Request):
    """Original | swapped for a few frames with the posted settings (runs here, not as a job)."""
    ui = ui_of(request)
    form = await request.form()
    source = ui.ws.resolve(form.get("input"), must_exist=True)
    model = ui.ws.resolve(form.get("model"), must_exist=True)
    options = parse_form(convert_fields(), form)
    options.pop("frames", None)
    pairs = await asyncio.get_running_loop().run_in_executor(
        None, lambda: _render_preview(ui, source, model, options, str(form.get("preview_frames") or "")))
    return ui.page(request, "_preview.html", pairs=pairs, options=options)


def _render_preview(ui, source, model, options: dict, frames_text: str | None) -> list[dict]:
    from ..convert import convert as convert_stage
    from ..media import open_media

    media = open_media(source)
    frames = _pick_frames(media.info.frame_count, frames_text)
    key = hashlib.sha1(json.dumps([str(source), str(model), options, frames], sort_keys=True,
                                  default=str).encode()).hexdigest()[:16]
    out_dir = ui.ws.state / "preview" / key
    originals = ui.ws.state / "preview" / f"{key}-orig"
    with _preview_lock:
        if not (out_dir / ".done").exists():
            shutil.rmtree(out_dir, ignore_errors=True)
            convert_stage(source, model, out_dir / "swapped", progress=False, writer="images", image_format="jpg",
                          frames=",".join(str(f) for f in frames), keep_unchanged=True, overwrite=True,
                          **options)
            originals.mkdir(parents=True, exist_ok=True)
            wanted = set(frames)
            for frame in media.frames(start=min(frames)):
                if frame.index in wanted:
                    cv2.imwrite(str(originals / f"{frame.index:06d}.jpg"), frame.image,
                                [cv2.IMWRITE_JPEG_QUALITY, 90])
                    wanted.discard(frame.index)
                if not wanted or frame.index > max(frames):
                    break
            (out_dir / ".done").write_text("ok")
    pairs = []
    for f in frames:
        orig = originals / f"{f:06d}.jpg"
        swapped = sorted((out_dir / "swapped").glob(f"{f:06d}.*"))
        if orig.exists():
            pairs.append({"frame": f, "original": f"/preview-file/{key}-orig/{orig.name}",
                          "swapped": f"/preview-file/{key}/swapped/{swapped[0].name}" if swapped else None})
    return pairs


@router.get("/preview-file/{rest:path}")
def preview_file(request: Request, rest: str) -> FileResponse:
    ui = ui_of(request)
    base = (ui.ws.state / "preview").resolve()
    real = (base / rest).resolve()
    if ".." in rest.split("/") or not real.is_relative_to(base) or not real.is_file():
        raise PathRefused(f"{rest!r}: no such preview file")
    return FileResponse(real, headers={"Cache-Control": "no-store"})


@router.post("/convert")
async def convert_job(request: Request):
    ui = ui_of(request)
    form = await request.form()
    source = ui.ws.resolve(form.get("input"), must_exist=True)
    model = ui.ws.resolve(form.get("model"), must_exist=True)
    name = safe_name(form.get("output") or "", "output name")
    if "." not in name:
        name += ".mp4"
    out = ui.ws.resolve(f"outputs/{name}")
    options = parse_form(convert_fields(), form)
    from ..convert.options import ConvertOptions

    ConvertOptions(**options)  # validates before queuing
    kwargs = {"input": str(source), "model": str(model), "output": str(out), "progress": False, **options}
    job = ui.submit("convert", f"convert {ui.ws.rel(source)} with {ui.ws.rel(model)} -> outputs/{name}", "convert",
                    kwargs)
    return after(request, job)


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_page(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    return ui.page(request, "evaluate.html", models=ui.ws.models(), face_sets=ui.ws.face_sets(),
                   sources=ui.ws.sources(), outputs=ui.ws.outputs(), fields=_evaluate_fields(),
                   reports=ui.ws.reports(), jobs=ui.jobs.list(kind="evaluate", limit=10), when=when)


@router.get("/fragments/reports", response_class=HTMLResponse)
def reports_fragment(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    return ui.page(request, "_reports.html", reports=ui.ws.reports())


@router.post("/evaluate")
async def evaluate_job(request: Request):
    ui = ui_of(request)
    form = await request.form()
    model = ui.ws.resolve(form.get("model"), must_exist=True)
    kwargs = {"model": str(model), "faces_a": str(ui.ws.resolve(form.get("faces_a"), must_exist=True)),
              "faces_b": str(ui.ws.resolve(form.get("faces_b"), must_exist=True)), "progress": False}
    if form.get("video"):
        kwargs["video"] = str(ui.ws.resolve(form.get("video"), must_exist=True))
        kwargs["source"] = str(ui.ws.resolve(form.get("source"), must_exist=True))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kwargs["output"] = str(ui.ws.resolve(f"outputs/{model.name}-{stamp}-report.json"))
    kwargs.update(parse_form(_evaluate_fields(), form))
    job = ui.submit("evaluate", f"evaluate {ui.ws.rel(model)}", "evaluate", kwargs)
    return after(request, job)


def flatten(d: object, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in (d.items() if isinstance(d, dict) else []):
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(flatten(v, key + "."))
        elif isinstance(v, list) and len(v) > 8:
            out.append((key, f"[{len(v)} values]"))
        else:
            out.append((key, v))
    return out


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request, path: str) -> HTMLResponse:
    ui = ui_of(request)
    real = ui.ws.resolve(path, must_exist=True)
    try:
        report = json.loads(real.read_text("utf-8"))
    except ValueError as err:
        raise InputError(f"{path}: not a JSON report ({err})") from None
    sections = {k: flatten(v) for k, v in report.items() if isinstance(v, dict)}
    top = [(k, v) for k, v in report.items() if not isinstance(v, dict)]
    curve = _quality_curve(ui, report)
    return ui.page(request, "report.html", report_path=path, sections=sections, top=top, curve=curve,
                   bars=_bars(report))


def _bars(report: dict) -> list[dict]:
    """The headline numbers drawn as bars: identity retrieval against chance per direction."""
    out = []
    for direction, d in (report.get("swap") or {}).items():
        if isinstance(d, dict) and "id_retrieval" in d:
            out.append({"label": direction, "value": d.get("id_retrieval"), "chance": d.get("chance")})
    return out


def _quality_curve(ui, report: dict) -> dict | None:
    """Validation loss and identity over the model's training (state.json), for the chart."""
    from . import trainview as tv

    model = report.get("model")
    model_path = model.get("path") if isinstance(model, dict) else model
    if not model_path:
        return None
    try:
        folder = ui.ws.resolve(ui.ws.rel(model_path)) if str(model_path).startswith("/") else ui.ws.resolve(model_path)
    except (ValueError, InputError):
        return None
    payload = tv.chart_payload(tv.state_curve(folder))
    return payload if payload["quality"][0] else None
