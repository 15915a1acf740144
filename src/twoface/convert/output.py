"""Where converted frames go, and the rules that protect earlier outputs.

- A finished output is never replaced without ``--overwrite`` (one clear error).
- A video goes through the media package's resumable segmented writer: an
  interrupted convert keeps the segments already written and continues after them. An image folder resumes too: files are written
  atomically, and a small progress file in the folder says how far the last
  run got and with which input and model, so a different run is never mistaken
  for a resume.
- Everything is labelled synthetic and every swapped frame is watermarked; video, GIF and
  plain image-folder files carry signed C2PA Content Credentials naming the model's
  architecture and iteration (the writers, ``watermark=True, model=...``). Numbered
  sequences (``SequenceWriter``: 16-bit PNG, TIFF, EXR) carry the label and the watermark
  but no Content Credentials yet.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import OutputError
from ..fsutil import atomic_write_text
from .frame import scaled_size

if TYPE_CHECKING:
    from .frame import FrameJob

PROGRESS_FILE = ".twoface-convert.json"
STAMP_FILE = "twoface-convert.json"  # inside a video's .parts folder


def output_kind(out: Path, opts_writer: str | None) -> str:
    """The writer for ``out``: as asked, else by suffix (.mp4/.mov/.mkv video, .gif, else images)."""
    from ..media.writer import kind_for

    return opts_writer if opts_writer is not None else kind_for(out)


def is_folder(out: Path, kind: str) -> bool:
    """Image output to a folder or a numbered pattern (not one image file), as the image writer decides it."""
    from ..media.reader import IMAGE_EXTS
    from ..media.sequence import is_pattern

    return kind == "images" and (Path(out).suffix.lower() not in IMAGE_EXTS or is_pattern(out))


def folder_of(out: Path) -> Path:
    """The folder an image output writes into: ``out``, or a pattern's folder (``out/shot.%04d.png``)."""
    from ..media.sequence import parse_pattern

    pattern = parse_pattern(out)
    return pattern.folder if pattern is not None else Path(out)


def model_claims(model_dir: Path) -> dict:
    """Architecture and iteration of a model folder for the Content Credentials (never names or paths)."""
    out: dict = {}
    for name, key, field in (("config.json", "arch", "architecture"), ("state.json", "iteration", "iteration")):
        try:
            value = json.loads((Path(model_dir) / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            value = None
        if value is not None:
            out[field] = value
    return out


def _rate(info):
    """The source's exact frame rate when known (29.97 stays 30000/1001), else its fps, else 25."""
    return getattr(info, "rate", None) or info.fps or 25


class Output:
    """Opens the right writer; knows where a resumed run starts; finishes or aborts it."""

    def __init__(self, out: str | Path, kind: str, info, opts, input_path: Path, model_dir: Path,
                 source_id: str, sequence=None, audio_from: Path | None = None):
        self.out = Path(out)
        self.folder = folder_of(self.out)
        self.sequence = sequence  # the input's SequenceSource, if it is one
        self.audio_from = audio_from if audio_from is not None else input_path
        self.kind = kind
        self.opts = opts
        self.resume_from = 0
        self._progress_every = 2.0
        self._last_saved = time.monotonic()
        self._last_index = -1
        self._stamp = {"input": str(input_path), "source": source_id, "model": str(model_dir)}
        self._claims = model_claims(model_dir)
        self.writer = self._open(info, input_path)
        from ..media.seqwriter import SequenceWriter

        self._keeps_depth = isinstance(self.writer, SequenceWriter)  # decided once, not per frame

    # ---- opening ---------------------------------------------------------------------
    def _refuse_existing(self) -> None:
        raise OutputError("already exists; pass --overwrite to replace it (earlier outputs are never "
                          "replaced without it)", self.out)

    def _open(self, info, input_path: Path):
        from ..media.writer import open_writer

        out = self.out
        if is_folder(out, self.kind):
            self._check_folder()
            return self._open_images(out)
        if out.exists() and out.is_dir():
            raise OutputError("is a folder; give a file name for this output", out)
        size = scaled_size(int(info.width), int(info.height), self.opts.scale)
        if self.kind == "video":
            return self._open_video(info, input_path, size)
        if out.exists() and not self.opts.overwrite:
            self._refuse_existing()
        return open_writer(out, self.kind, fps=_rate(info), size=size, watermark=True,
                           image_format=self.opts.image_format or "png", model=self._claims)

    def _open_video(self, info, input_path: Path, size):
        """A resumable segmented video; its ``.parts`` folder is only reused for the same input and model."""
        from ..media.segmented import SegmentedVideoWriter

        parts = self.out.with_name(self.out.name + ".parts")
        stamp_path = parts / STAMP_FILE
        if parts.exists():
            try:
                stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                stamp = None
            if stamp != self._stamp:
                if not self.opts.overwrite:
                    raise OutputError("holds an unfinished conversion of another input or model "
                                      f"({parts.name}); pass --overwrite to start over", self.out)
                shutil.rmtree(parts, ignore_errors=True)
        elif self.out.exists() and not self.opts.overwrite:
            self._refuse_existing()
        w = SegmentedVideoWriter(self.out, _rate(info), size, time_base=getattr(info, "time_base", None),
                                 quality=self.opts.quality, preset=self.opts.preset,
                                 audio_from=self.audio_from if getattr(info, "has_audio", False) else None,
                                 watermark=True, model=self._claims)
        atomic_write_text(stamp_path, json.dumps(self._stamp) + "\n")
        self.resume_from = int(w.next_index)
        return w

    def _open_images(self, out: Path):
        """A numbered sequence (the input's names, numbers and depth) or a plain image folder."""
        from ..media.sequence import is_pattern
        from ..media.writer import open_writer

        fmt = self.opts.image_format
        if self.sequence is not None or is_pattern(out) or fmt in ("tif", "exr"):
            from ..media.seqwriter import SequenceWriter

            if fmt is None and self.sequence is not None:
                fmt = self.sequence.format if self.sequence.format in ("png", "jpg", "tif", "exr") else "png"
            return SequenceWriter(out, image_format=fmt or "png", watermark=True)
        return open_writer(out, "images", image_format=fmt or "png", watermark=True, model=self._claims)

    def _holds_output(self) -> bool:
        """Whether the folder already holds output: any file, or with a pattern any file of the pattern."""
        from ..media.sequence import parse_pattern, scan

        pattern = parse_pattern(self.out)
        if pattern is not None:
            return bool(scan(pattern))
        return any(self.folder.iterdir())

    def _check_folder(self) -> None:
        out = self.folder
        if out.exists() and not out.is_dir():
            raise OutputError("exists and is not a folder", out)
        if not out.exists() or not self._holds_output():
            return
        marker = out / PROGRESS_FILE
        state = None
        if marker.exists():
            try:
                state = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                state = None
        if self.opts.overwrite:
            return
        if state and not state.get("complete") and all(state.get(k) == v for k, v in self._stamp.items()):
            self.resume_from = int(state.get("last_frame", -1)) + 1
            return
        if state and not state.get("complete"):
            raise OutputError("holds an unfinished conversion of another input or model; pass --overwrite "
                              "to start over, or choose another output folder", out)
        self._refuse_existing()

    # ---- writing -------------------------------------------------------------------
    def write(self, job: FrameJob, image: np.ndarray) -> None:
        if self._keeps_depth:  # frames without a swap stay bit for bit as read
            self.writer.write(image, job.index, time=job.time, name=job.name, untouched=not job.convert)
        else:
            if image.dtype != np.uint8:  # a deep frame into an 8-bit writer
                from ..media.deep import to_uint8

                image = to_uint8(image)
            self.writer.write(image, job.index, time=job.time, name=job.name)
        self._last_index = job.index

    def mark(self, index: int) -> None:
        """Record progress (image folders): frames up to ``index`` are done."""
        self._last_index = max(self._last_index, index)
        if is_folder(self.out, self.kind) and \
                time.monotonic() - self._last_saved >= self._progress_every:
            self._save_progress(False)

    def _save_progress(self, complete: bool) -> None:
        self._last_saved = time.monotonic()
        atomic_write_text(self.folder / PROGRESS_FILE, json.dumps(
            {**self._stamp, "last_frame": self._last_index, "complete": complete}) + "\n")

    def finish(self) -> None:
        self.writer.close()
        if is_folder(self.out, self.kind):
            self._save_progress(True)

    def abort(self) -> None:
        """Stop after an error or Ctrl-C: keep what a resume can use, drop the rest."""
        if is_folder(self.out, self.kind):
            self._save_progress(False)
            return
        keep = getattr(self.writer, "suspend", None)  # a resumable writer keeps its segments
        if keep is not None:
            keep()
        else:
            self.writer.abort()
