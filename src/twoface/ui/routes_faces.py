"""Routes: the face grid (paged, sorted, cached thumbnails), delete with undo, and prune."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..errors import InputError
from . import facegrid as fg
from .core import after, ui_of
from .paths import PathRefused

router = APIRouter()
PAGE = 120


def _text(form, key: str) -> str:
    """A posted text field ('' when missing or a file)."""
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _page(form) -> int:
    """The posted grid page; a non-number is a clear 400, not a 500 from int()."""
    text = _text(form, "page").strip() or "0"
    if not text.isdigit():
        raise InputError(f"page must be a whole number, got {text[:20]!r}")
    return int(text)


def _face_set(request: Request, rel: str):
    ui = ui_of(request)
    folder = ui.ws.resolve(rel, must_exist=True)
    if not folder.is_dir() or folder.parent != ui.ws.root / "faces":
        raise PathRefused(f"{rel!r} is not a face set (a folder under faces/)")
    return folder


def _grid(request: Request, set_rel: str, sort: str, page: int, message: str = ""):
    ui = ui_of(request)
    folder = _face_set(request, set_rel)
    try:
        rows = fg.sort_rows(ui.faces.rows(folder), sort)
    except InputError as err:
        if "no such folder" in str(err):
            raise
        rows = []
    pages = max(1, -(-len(rows) // PAGE))
    page = min(max(page, 0), pages - 1)
    depth, last = fg.journal_depth(folder)
    from ..curate import SORT_BY

    return ui.page(request, "_grid.html", sort_by=SORT_BY, set=set_rel, rows=rows[page * PAGE:(page + 1) * PAGE], total=len(rows),
                   page=page, pages=pages, sort=sort, sorts=fg.SORTS, undo_depth=depth, undo_by=last,
                   message=message, stores=[ui.ws.rel(s) for s in fg.stores_for(rows) if _inside(ui, s)])


def _inside(ui, path) -> bool:
    return path.resolve().is_relative_to(ui.ws.root)


@router.get("/faces", response_class=HTMLResponse)
def faces_page(request: Request, set: str | None = None, sort: str = "name", page: int = 0) -> HTMLResponse:
    ui = ui_of(request)
    sets = ui.ws.face_sets()
    if set is None and sets:
        set = sets[0]
    grid = _grid(request, set, sort, page).body.decode() if set else ""
    return ui.page(request, "faces.html", sets=sets, set=set, grid=grid)


@router.get("/fragments/grid", response_class=HTMLResponse)
def grid_fragment(request: Request, set: str, sort: str = "name", page: int = 0) -> HTMLResponse:
    return _grid(request, set, sort, page)


@router.get("/thumb")
def thumb(request: Request, path: str) -> FileResponse:
    ui = ui_of(request)
    face = ui.ws.resolve(path, must_exist=True)
    if face.suffix.lower() != ".png" or not face.is_file():
        raise PathRefused(f"{path!r} is not a face image")
    out = fg.thumbnail(ui.ws.state / "thumbs", face)
    return FileResponse(out, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/faces/delete", response_class=HTMLResponse)
async def faces_delete(request: Request):
    form = await request.form()
    set_rel = _text(form, "set")
    folder = _face_set(request, set_rel)
    rels = [str(r) for r in form.getlist("face")]
    if not rels:
        raise InputError("select at least one face to delete")
    n = fg.delete_faces(folder, rels)
    return _grid(request, set_rel, _text(form, "sort") or "name", _page(form),
                 message=f"moved {n} face(s) aside (Undo puts them back; Prune drops them from the store)")


@router.post("/faces/undo", response_class=HTMLResponse)
async def faces_undo(request: Request):
    form = await request.form()
    set_rel = _text(form, "set")
    folder = _face_set(request, set_rel)
    report = fg.undo_last(folder)
    msg = f"undid the last {report.by}: {report.restored} face(s) back" if report.by else "nothing to undo"
    return _grid(request, set_rel, _text(form, "sort") or "name", _page(form), message=msg)


@router.post("/faces/sort")
async def faces_sort(request: Request):
    """`twoface sort FACES --by KEY` as a job: files are renamed or moved (journaled, undoable)."""
    from ..curate import SORT_BY

    ui = ui_of(request)
    form = await request.form()
    set_rel = _text(form, "set")
    folder = _face_set(request, set_rel)
    by = _text(form, "by") or "identity"
    if by not in SORT_BY:
        raise InputError(f"--by must be one of {', '.join(SORT_BY)}, got {by!r}")
    job = ui.submit("sort", f"sort {set_rel} by {by}", "sort", {"folder": str(folder), "by": by}, queue="side")
    return after(request, job)


@router.post("/faces/prune")
async def faces_prune(request: Request):
    """Drop store rows of faces that are no longer in the set (a job, like every store change)."""
    ui = ui_of(request)
    form = await request.form()
    set_rel = _text(form, "set")
    folder = _face_set(request, set_rel)
    stores = [ui.ws.resolve(s, must_exist=True) for s in form.getlist("store")]
    if not stores:
        stores = [s for s in fg.stores_for(ui.faces.rows(folder)) if _inside(ui, s)]
    if not stores:
        raise InputError(f"{set_rel}: no alignments store found for these faces")
    jobs = [ui.submit("prune", f"prune {ui.ws.rel(store)} by {set_rel}", "prune",
                      {"store": str(store), "faces_folders": str(folder)}, queue="side") for store in stores]
    return after(request, jobs[-1])
