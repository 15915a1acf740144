"""Where converted frames go, and the rules that protect earlier outputs.

- A finished output is never replaced without ``--overwrite`` (one clear error).
- A video goes through the media package's resumable segmented writer: an
  interrupted convert keeps the segments already written and continues after them. An image folder resumes too: files are written
  atomically, and a small progress file in the folder says how far the last
  run got and with which input and model, so a different run is never mistaken
  for a resume.
- Everything is labelled synthetic and every written frame is watermarked by
  the writers (``watermark=True``).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..errors import OutputError
from ..fsutil import atomic_write_text
from .frame import scaled_size

PROGRESS_FILE = ".twoface-convert.json"
STAMP_FILE = "twoface-convert.json"  # inside a video's .parts folder


def output_kind(out: Path, opts_writer: str | None) -> str:
    """The writer for ``out``: as asked, else by suffix (.mp4/.mov/.mkv video, .gif, else images)."""
    from ..media.writer import kind_for

    return opts_writer if opts_writer is not None else kind_for(out)


def is_folder(out: Path, kind: str) -> bool:
    """Image output to a folder (not one image file), as the image writer decides it."""
    from ..media.reader import IMAGE_EXTS

    return kind == "images" and Path(out).suffix.lower() not in IMAGE_EXTS


def _rate(info):
    """The source's exact frame rate when known (29.97 stays 30000/1001), else its fps, else 25."""
    return getattr(info, "rate", None) or info.fps or 25


class Output:
    """Opens the right writer; knows where a resumed run starts; finishes or aborts it."""

    def __init__(self, out: str | Path, kind: str, info, opts, input_path: Path, model_dir: Path,
                 source_id: str):
        self.out = Path(out)
        self.kind = kind
        self.opts = opts
        self.resume_from = 0
        self._progress_every = 2.0
        self._last_saved = time.monotonic()
        self._last_index = -1
        self._stamp = {"input": str(input_path), "source": source_id, "model": str(model_dir)}
        self.writer = self._open(info, input_path)

    # ---- opening ---------------------------------------------------------------------
    def _refuse_existing(self) -> None:
        raise OutputError("already exists; pass --overwrite to replace it (earlier outputs are never "
                          "replaced without it)", self.out)

    def _open(self, info, input_path: Path):
        from ..media.writer import open_writer

        out = self.out
        if is_folder(out, self.kind):
            self._check_folder()
            return open_writer(out, "images", image_format=self.opts.image_format, watermark=True)
        if out.exists() and out.is_dir():
            raise OutputError("is a folder; give a file name for this output", out)
        size = scaled_size(int(info.width), int(info.height), self.opts.scale)
        if self.kind == "video":
            return self._open_video(info, input_path, size)
        if out.exists() and not self.opts.overwrite:
            self._refuse_existing()
        return open_writer(out, self.kind, fps=_rate(info), size=size, watermark=True,
                           image_format=self.opts.image_format)

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
                                 audio_from=input_path if getattr(info, "has_audio", False) else None,
                                 watermark=True)
        atomic_write_text(stamp_path, json.dumps(self._stamp) + "\n")
        self.resume_from = int(w.next_index)
        return w

    def _check_folder(self) -> None:
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputError("exists and is not a folder", out)
        if not out.exists() or not any(out.iterdir()):
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
    def write(self, job, image) -> None:
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
        atomic_write_text(self.out / PROGRESS_FILE, json.dumps(
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
