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
from typing import TYPE_CHECKING, Any, cast

from ..errors import InputError, MissingDependency, ModelError
from .options import ConvertOptions, parse_frames

if TYPE_CHECKING:
    from ..models.onnx_engine import OnnxSwapper
    from ..models.swapper import Swapper

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
    mismatch: str | None = None  # frames of a sequence without a partner in --reference-video


def convert(input: str | Path, model: str | Path, output: str | Path, store: str | Path | None = None, *,
            progress: bool = True, swapper: Swapper | OnnxSwapper | None = None, **options: Any) -> ConvertResult:
    """Swap faces in ``input`` with ``model`` and write ``output`` (see the module doc).

    ``swapper``: a :class:`~twoface.models.swapper.Swapper` already loaded from ``model``, so that
    an orchestrator converting many videos (``twoface batch``) loads each model once per worker.
    """
    from ..media import open_media
    from ..media.reference import attach
    from ..media.sequence import is_pattern
    from ..progress import FrameProgress
    from .faces import FaceSource, source_fingerprint
    from .output import Output, is_folder, output_kind
    from .pipeline import Pipeline

    opts = ConvertOptions(**options)
    selection = parse_frames(opts.frames)
    input, model, output = Path(input), Path(model), Path(output)
    if not input.exists() and not is_pattern(input):
        raise InputError("no such file or folder", input)
    if output.resolve() == input.resolve():
        raise InputError("the output would replace the input; choose another output", output)
    if swapper is None:
        swapper = open_swapper(model, opts)
    if opts.mask == "predicted" and not swapper.framing.learn_mask:
        raise ModelError("--mask predicted needs a model trained with a learned mask (train --learn-mask); "
                         "use --mask extended", model)
    media = open_media(input)
    reference = attach(media, opts.reference_video)  # a sequence takes the timing of its video
    info = media.info
    faces = FaceSource(input, store, opts)
    try:
        faces.prepare()
        kind = output_kind(output, opts.writer)
        if kind == "video" and not info.is_video and reference is None:
            raise InputError("a video output needs a video input, or --reference-video for a frame sequence; "
                             "write images (a folder) instead", input)
        if kind == "images" and not is_folder(output, kind) and info.frame_count > 1:
            raise InputError(f"has {info.frame_count} frames but the output {output.name} is one image; "
                             "give a folder (no suffix) or a video file", input)
        numbers = getattr(media, "numbers", None)  # a sequence counts frames, not frame numbers
        out = Output(output, kind, info, opts, input, model, source_fingerprint(input),
                     sequence=media if numbers is not None else None,
                     audio_from=reference.path if reference is not None else None)
        done = out.resume_from if numbers is None else sum(1 for n in numbers if n < out.resume_from)
        bar = FrameProgress("convert", input.name, info.frame_count, done, enabled=progress)

        seen = [done]  # frames done so far: a sequence's frame numbers may have gaps

        def on_frame(index: int, written: int) -> None:
            out.mark(index)
            seen[0] += 1
            bar.update(seen[0] - 1)

        pipe = Pipeline(media, faces, swapper, opts, selection, out.write, lambda im: im,
                        is_video=info.is_video or reference is not None, progress=on_frame,
                        # image folders: faces only; a numbered sequence stays whole
                        keep_default=not is_folder(output, kind) or numbers is not None)
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
                         faces_from="store" if faces.from_store else "on the fly",
                         mismatch=None if reference is None else cast(Any, media).match.report(input, reference))


def open_swapper(model: Path, opts: ConvertOptions) -> Swapper | OnnxSwapper:
    """The model as the pipeline runs it: torch on a model folder, or onnxruntime on an exported file.

    The onnx engine never imports torch, so a machine without it can convert.
    """
    if opts.engine == "onnx":
        from ..models.onnx_engine import OnnxSwapper

        swapper = OnnxSwapper(model)
        swapper.check_side(opts.side, model)
        return swapper
    if model.is_file() and model.suffix.lower() in (".onnx", ".dfm"):
        raise ModelError("is an exported model; run it with --engine onnx (the torch engine takes a model "
                         "folder)", model)
    try:
        from ..device import choose
        from ..models.swapper import Swapper
    except ImportError as err:
        if (err.name or "").split(".")[0] != "torch":
            raise
        raise MissingDependency("the torch engine needs torch, which is not installed here; install it, or "
                                "export the model (`twoface export`) and convert with --engine onnx") from None
    return Swapper(model, choose(opts.device, opts.precision))


from .. import _callable_stage  # noqa: E402  (so that twoface.convert(...) calls convert())

_callable_stage(__name__, "convert")
