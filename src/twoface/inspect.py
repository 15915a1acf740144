"""``twoface inspect``: say what a file or folder is, as twoface sees it.

One entry point, :func:`inspect_path`, returns a JSON-able dict whose ``kind``
is one of: ``face image``, ``face folder``, ``alignments store``, ``model``,
``weights file``, ``video``, ``image``, ``image folder``. For videos and images
it reports the synthetic label twoface writes into converted outputs, its
C2PA Content Credentials (valid / invalid / absent, and the claims) and
whether the invisible watermark is present (its score and how many frames
were pooled), so anyone can check whether a file came out of ``twoface convert``.

Why read headers rather than load things: inspect must be fast and safe on any
file a user points it at. Model weights are never loaded (the safetensors header
alone gives every tensor's shape), stores are opened read-only, and unknown
files are refused with one clear message.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .errors import InputError, ModelError, TwofaceError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODEL_FORMAT = "twoface-model"  # config.json "format" (train/checkpoint.py)
WATERMARK_FRAMES = 48  # frames of a video (spread over it) pooled into the watermark test
FOLDER_SAMPLE = 8  # images of a folder folded into the watermark test
UNKNOWN = ("is not something twoface knows: expected a face PNG, an alignments store (.twoface.db), "
           "a model folder, or a video or image")


def inspect_path(path: str | Path) -> dict:
    """Identify ``path`` and summarise it (the ``twoface inspect`` verb)."""
    from .media.sequence import is_pattern

    path = Path(path)
    if not path.exists() and is_pattern(path):
        return _inspect_sequence(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        return _inspect_dir(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        from .errors import from_os_error

        raise from_os_error(err, path) from err
    if not head:
        raise InputError(f"file is empty; {UNKNOWN[3:]}", path)
    if head.startswith(SQLITE_MAGIC):
        return inspect_store(path)
    if head.startswith(PNG_MAGIC):
        from .contracts.image import png_chunks, png_size

        png_size(png_chunks(path.read_bytes(), path), path)  # damaged, truncated or a bomb: said so
    if head.startswith(PNG_MAGIC) and _has_face_meta(path):
        return inspect_face(path)
    if path.suffix.lower() == ".safetensors":
        return inspect_weights(path)
    if path.name in ("config.json", "state.json") and (path.parent / "config.json").exists():
        return inspect_model(path.parent)
    return inspect_media(path)


# ---- faces ---------------------------------------------------------------------------
def _has_face_meta(path: Path) -> bool:
    """Whether the PNG carries a twoface metadata chunk (readable or not: reading it is inspect_face's job)."""
    from .store.metadata import KEYWORD

    try:
        return b"iTXt" + KEYWORD + b"\x00" in path.read_bytes()
    except OSError:
        return False


def _scheme(n: int) -> str:
    return {478: "478 (MediaPipe face mesh)", 468: "468 (face mesh, no irises)", 68: "68 (iBUG 300-W)",
            5: "5 (detector points)", 0: "none"}.get(n, str(n))


def inspect_face(path: Path) -> dict:
    """A face PNG: where it came from, its geometry, and what its metadata holds."""
    from .faces import measures
    from .store.metadata import read_face

    image, meta = read_face(path)
    n = len(meta.landmarks)
    identity = meta.identity_array()
    return {
        "kind": "face image",
        "path": str(path),
        "source": {"path": meta.source_path, "fingerprint": meta.source_fingerprint,
                   "frame": meta.frame, "face": meta.face},
        "size": meta.size,
        "image_size": [int(image.shape[1]), int(image.shape[0])],
        "coverage": meta.coverage,
        "size_in_source_px": round(measures.source_size(meta), 1),
        "landmarks": n,
        "landmark_scheme": _scheme(n),
        "identity": None if identity is None else f"{len(identity)}-D embedding",
        "pose": dict(zip(("yaw", "pitch", "roll"), (round(float(v), 2) for v in meta.pose))),
        "blur_stored": meta.blur,
        "sharpness": round(measures.sharpness(image, meta), 2),
        "masks": sorted(meta.masks),
        "blendshapes": meta.blendshapes is not None,
        "metadata_version": meta.version,
    }


def _inspect_face_folder(path: Path, faces: list[Path]) -> dict:
    from .store.journal import Journal
    from .store.metadata import read_face_meta

    sources: Counter = Counter()
    not_faces = 0
    for p in faces:
        try:
            sources[read_face_meta(p).source_path] += 1
        except InputError:
            not_faces += 1
    journal = Journal.load(path)
    return {
        "kind": "face folder",
        "path": str(path),
        "faces": sum(sources.values()),
        "sources": dict(sources.most_common()),
        "pngs_without_metadata": not_faces,
        "sorts_to_undo": [e.by for e in journal.entries],
    }


# ---- stores --------------------------------------------------------------------------
def inspect_store(path: Path) -> dict:
    """An alignments store: schema, source, counts and extract options (opened read-only)."""
    from .store.alignments import AlignmentsStore

    with AlignmentsStore.open(path, readonly=True) as db:
        info = db.summary()
        info["twoface_version"] = db.get_meta("twoface_version")
        info["faces_with_identity"] = sum(1 for f in db.faces() if f.identity is not None)
    return info


# ---- models --------------------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    from .contracts.jsonsafe import load_json

    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ModelError(f"unreadable ({err.strerror or err})", path) from err
    data = load_json(raw, path, "unreadable JSON", ModelError, allow_nan=path.name == "state.json")
    if not isinstance(data, dict):
        raise ModelError("expected a JSON object", path)
    return data


def safetensors_header(path: Path) -> dict:
    """The JSON header of a safetensors file (names, dtypes, shapes), without reading tensors."""
    from .contracts.model_files import check_safetensors

    if not path.is_file():
        raise ModelError("no such safetensors file", path)
    return check_safetensors(path)


def inspect_weights(path: Path) -> dict:
    """A safetensors file: tensor count and parameters, in total and per key prefix."""
    header = safetensors_header(path)
    per_prefix: Counter = Counter()
    total = 0
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for d in spec["shape"]:
            count *= int(d)
        total += count
        per_prefix[name.split(".", 1)[0]] += count
    meta = header.get("__metadata__") or {}
    return {"kind": "weights file", "path": str(path), "tensors": len(header) - ("__metadata__" in header),
            "parameters": total, "parameters_by_part": dict(per_prefix), "metadata": meta}


def _find_key(d: dict, names: tuple[str, ...]):
    for scope in (d, d.get("options") or {}):
        for n in names:
            if n in scope:
                return scope[n]
    return None


def inspect_model(path: Path) -> dict:
    """A model folder: architecture, options, sizes, iterations, parameters, files present."""
    config = _read_json(path / "config.json")
    if config is None:
        raise ModelError("is not a twoface model folder (no config.json)", path)
    if "arch" not in config or config.get("format", MODEL_FORMAT) != MODEL_FORMAT:
        raise ModelError("config.json is not a twoface model config (no 'arch', or another format)", path / "config.json")
    state = _read_json(path / "state.json") or {}
    weights = path / "weights.safetensors"
    info = {
        "kind": "model",
        "path": str(path),
        "arch": config["arch"],
        "model_kind": config.get("kind", "pair"),  # "prior": from `twoface pretrain`, one generic decoder
        "init_from": config.get("init_from"),
        "options": config.get("options", {}),
        "input_size": _find_key(config, ("input_size",)),
        "output_size": _find_key(config, ("output_size",)),
        "learn_mask": _find_key(config, ("learn_mask",)),
        "iterations": state.get("iteration"),
        "faces": config.get("faces"),
        "training": config.get("training"),
        "twoface_version": config.get("twoface_version", state.get("twoface_version")),
        "files": sorted(p.name for p in path.iterdir() if not p.name.startswith(".")),
        "timelapse_images": len(list((path / "timelapse").glob("*.jpg"))) if (path / "timelapse").is_dir() else 0,
        "snapshots": sorted(p.name for p in (path / "snapshots").iterdir()) if (path / "snapshots").is_dir() else [],
    }
    if weights.exists():
        w = inspect_weights(weights)
        info["parameters"] = w["parameters"]
        info["parameters_by_part"] = w["parameters_by_part"]
    else:
        info["parameters"] = None
    return info


# ---- media ---------------------------------------------------------------------------
def _label(path: Path):
    from .media.label import read_label

    return read_label(path)


def _watermark(result) -> dict:
    from .media.watermark import false_positive_bound

    out = {"found": bool(result.found), "score": round(float(result.score), 2),
           "threshold": round(float(result.threshold), 2), "frames_checked": int(result.frames),
           "false_positive_bound": false_positive_bound(result.threshold)}
    if result.found:
        out.update(scale=round(float(result.scale), 3), flipped=bool(result.flipped))
    return out


def _watermark_images(images: list) -> dict:
    """Pool the sampled images (those of the first one's size) and test them once."""
    from .media.watermark import detect_frames

    return _watermark(detect_frames(images))


def _credentials(path: Path) -> dict:
    from .media.provenance import read_credentials

    return read_credentials(path)


def inspect_media(path: Path) -> dict:
    """A video or image: media info, the synthetic label, and the invisible watermark."""
    from .media import open_media

    try:
        media = open_media(path)
    except TwofaceError as err:
        raise InputError(UNKNOWN, path) from err
    info = media.info
    if info.is_video:
        from .media.watermark import detect_video

        mark = _watermark(detect_video(path, max_frames=WATERMARK_FRAMES))
    else:
        stream = media.frames()
        try:
            mark = _watermark_images([next(stream).image])
        finally:
            stream.close()
    label = _label(path)
    out = {
        "kind": "video" if info.is_video else "image",
        "path": str(path),
        "width": info.width, "height": info.height,
        "frames": info.frame_count, "fps": info.fps, "duration_s": info.duration,
        "has_audio": info.has_audio, "rotation": info.rotation,
        "synthetic_label": label,
        "content_credentials": _credentials(path),
        "watermark": mark,
    }
    out["synthetic"] = bool(label) or out["watermark"]["found"] or \
        (out["content_credentials"].get("digital_source_type") or "").endswith("trainedAlgorithmicMedia")
    return out


def _inspect_dir(path: Path) -> dict:
    if (path / "config.json").exists() or (path / "weights.safetensors").exists():
        return inspect_model(path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    pngs = [p for p in files if p.suffix.lower() == ".png"]
    if any(_has_face_meta(p) for p in pngs[:20]) or (not files and _nested_faces(path)):
        from .store.metadata import list_face_files

        return _inspect_face_folder(path, list_face_files(path))
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTS]
    if not images:
        raise InputError("folder holds no face images, model or images; " + UNKNOWN[3:], path)
    return _inspect_image_folder(path, images)


def _nested_faces(path: Path) -> bool:
    """A sorted face folder keeps its faces in subfolders (by_identity/000/...)."""
    for p in path.rglob("*.png"):
        return _has_face_meta(p)
    return False


def _inspect_image_folder(path: Path, images: list[Path]) -> dict:
    labels = [_label(p) for p in images]
    step = max(1, len(images) // FOLDER_SAMPLE)
    sample = [im for im in (_read_or_none(p) for p in images[::step][:FOLDER_SAMPLE]) if im is not None]
    first = sample[0] if sample else None
    out: dict[str, Any] = {
        "kind": "image folder",
        "path": str(path),
        "images": len(images),
        "width": None if first is None else int(first.shape[1]),
        "height": None if first is None else int(first.shape[0]),
        "labelled_synthetic": sum(1 for x in labels if x),
        "synthetic_label": next((x for x in labels if x), None),
        "content_credentials": _credentials(images[0]),
        "watermark": _watermark_images(sample),
    }
    out["synthetic"] = bool(out["labelled_synthetic"]) or out["watermark"]["found"]
    from .media.sequence import open_sequence

    try:
        seq = open_sequence(path)
    except TwofaceError:
        seq = None
    if seq is not None:  # numbered frames: count, range, gaps, bit depth
        out["sequence"] = seq.summary()
    return out


def _inspect_sequence(path: Path) -> dict:
    """A pattern (``shot.%04d.png``): the numbered files it matches, as an image folder plus numbering."""
    from .media.sequence import open_sequence

    seq = open_sequence(path)
    assert seq is not None  # a pattern yields a sequence or raises InputError
    out = _inspect_image_folder(seq.pattern.folder, [f for _, f in seq.files])
    out.update(kind="image sequence", path=str(path), sequence=seq.summary())
    return out


from . import _callable_stage  # noqa: E402  (so that twoface.inspect(...) calls inspect_path())

_callable_stage(__name__, "inspect_path")


def _read_or_none(path: Path):
    """A sampled output frame, or None when it cannot be read (or declares too many pixels)."""
    from .errors import InputError
    from .media.reader import read_image

    try:
        return read_image(path)
    except InputError:
        return None
