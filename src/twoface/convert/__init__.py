"""The convert stage: swap the faces of a video, image or image folder with a trained model.

``convert(input, model, output, store=None, progress=True, **options)`` is the
Python twin of ``twoface convert``; ``options`` are the fields of
:class:`ConvertOptions`. It returns a :class:`ConvertResult`.

Order of checks: everything that can be wrong with the inputs (model, store,
video, references, output) is checked before the first frame is written, so a
mistake costs nothing and never touches an earlier output.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, ModelError
from .options import ConvertOptions, parse_frames

__all__ = ["convert", "ConvertOptions", "ConvertResult"]


@dataclass
class ConvertResult:
    output: Path
    kind: str
    frames: int  # frames written in this run
    converted: int  # frames with a swapped face
    faces: int
    skipped: int  # frames left out (--skip-unchanged)
    resumed_from: int
    seconds: float
    fps: float
    faces_from: str  # "store" or "on the fly"


def convert(input: str | Path, model: str | Path, output: str | Path, store: str | Path | None = None, *,
            progress: bool = True, **options) -> ConvertResult:
    """Swap faces in ``input`` with ``model`` and write ``output`` (see the module doc)."""
    from ..device import choose
    from ..media import open_media
    from ..models.swapper import Swapper
    from ..progress import FrameProgress
    from .faces import FaceSource, source_fingerprint
    from .output import Output, is_folder, output_kind
    from .pipeline import Pipeline

    opts = ConvertOptions(**options)
    selection = parse_frames(opts.frames)
    input, model, output = Path(input), Path(model), Path(output)
    if not input.exists():
        raise InputError("no such file or folder", input)
    if output.resolve() == input.resolve():
        raise InputError("the output would replace the input; choose another output", output)
    swapper = Swapper(model, choose(opts.device, opts.precision))
    if opts.mask == "predicted" and not swapper.framing.learn_mask:
        raise ModelError("--mask predicted needs a model trained with a learned mask (train --learn-mask); "
                         "use --mask extended", model)
    media = open_media(input)
    info = media.info
    faces = FaceSource(input, store, opts)
    try:
        faces.prepare()
        kind = output_kind(output, opts.writer)
        if kind == "video" and not info.is_video:
            raise InputError("a video output needs a video input; write images (a folder) instead", input)
        if kind == "images" and not is_folder(output, kind) and info.frame_count > 1:
            raise InputError(f"has {info.frame_count} frames but the output {output.name} is one image; "
                             "give a folder (no suffix) or a video file", input)
        out = Output(output, kind, info, opts, input, model, source_fingerprint(input))
        bar = FrameProgress("convert", input.name, info.frame_count, out.resume_from, enabled=progress)

        def on_frame(index: int, written: int) -> None:
            out.mark(index)
            bar.update(index)

        pipe = Pipeline(media, faces, swapper, opts, selection, out.write, lambda im: im,
                        is_video=info.is_video, progress=on_frame,
                        keep_default=not is_folder(output, kind))  # image folders: faces only
        try:
            stats = pipe.run(start=out.resume_from)
        except BaseException:
            bar.close()
            out.abort()
            raise
        bar.close()
        out.finish()
    finally:
        faces.close()
    return ConvertResult(output=output, kind=kind, frames=stats.frames, converted=stats.converted,
                         faces=stats.faces, skipped=stats.skipped, resumed_from=out.resume_from,
                         seconds=stats.seconds, fps=stats.fps,
                         faces_from="store" if faces.from_store else "on the fly")


from .. import _callable_stage  # noqa: E402  (so that twoface.convert(...) calls convert())

_callable_stage(__name__, "convert")
