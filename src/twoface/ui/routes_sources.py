"""Routes: sources (list, upload with a size limit) and extract jobs."""
from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from ..errors import InputError
from .core import after, safe_name, ui_of, when
from .forms import extract_fields, parse_form
from .paths import IMAGE_SUFFIXES, VIDEO_SUFFIXES

router = APIRouter()
@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request) -> HTMLResponse:
    ui = ui_of(request)
    return ui.page(request, "sources.html", sources=ui.ws.sources(), face_sets=ui.ws.face_sets(),
                   fields=extract_fields(), jobs=ui.jobs.list(kind="extract", limit=10), when=when,
                   max_upload_mb=ui.max_upload // (1024 * 1024))


@router.post("/upload")
async def upload(request: Request):
    """One file into sources/, streamed to disk and stopped at the size limit."""
    ui = ui_of(request)
    length = request.headers.get("content-length")
    if not (length and length.isdigit()):
        return HTMLResponse('<p class="error">upload refused: the request has no Content-Length</p>', 411)
    if int(length) > ui.max_upload + 65536:
        return HTMLResponse(f'<p class="error">upload refused: larger than {ui.max_upload // 2**20} MB</p>', 413)
    form = await request.form(max_files=1, max_fields=10, max_part_size=1024 * 1024)
    item = form.get("file")
    if not isinstance(item, UploadFile):
        raise InputError("no file in the upload")
    name = safe_name(os.path.basename(item.filename or ""), "file name")
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
        raise InputError(f"{name}: not a video or image this tool reads")
    dest = ui.ws.resolve(f"sources/{name}")
    if dest.exists():
        raise InputError(f"sources/{name} exists already; rename the file")
    tmp = dest.with_name(f".{name}.upload")
    size = 0
    try:
        with open(tmp, "wb") as fh:
            while chunk := await item.read(1 << 20):
                size += len(chunk)
                if size > ui.max_upload:
                    raise InputError(f"upload refused: larger than {ui.max_upload // 2**20} MB")
                fh.write(chunk)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        await form.close()
    return HTMLResponse(f'<p class="ok">uploaded sources/{name} ({size / 2**20:.1f} MB)</p>',
                        headers={"HX-Trigger": "sources-changed"})


@router.post("/extract")
async def extract_job(request: Request):
    ui = ui_of(request)
    form = await request.form()
    source = ui.ws.resolve(form.get("input"), must_exist=True)
    name = safe_name(form.get("output") or "", "face set name")
    faces_dir = ui.ws.resolve(f"faces/{name}")
    options = parse_form(extract_fields(), form)
    from ..extract import ExtractOptions
    from ..store.alignments import default_store_path

    ExtractOptions(**options).validate()  # refuse bad values now, not in the job

    kwargs = {"input": str(source), "faces_dir": str(faces_dir), "store": str(default_store_path(source)),
              "progress": False, **options}
    job = ui.submit("extract", f"extract {ui.ws.rel(source)} -> faces/{name}", "extract", kwargs)
    return after(request, job)
