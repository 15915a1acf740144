"""Reading frames from a video file, one image, or a folder of images.

``open_media(path)`` looks at what ``path`` is and returns a ``MediaSource``
whose ``frames()`` streams ``Frame`` records (BGR uint8, display orientation).
Every way an input can be wrong (missing, empty, not media, truncated, no
images) becomes one ``InputError`` line naming the file, checked when the
source is opened so a stage fails before it has done any work.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Generator
from pathlib import Path

import numpy as np

from ..errors import InputError, from_os_error
from .frames import IMAGE_EXTS, Frame, MediaInfo, MediaSource, check_frame_args

log = logging.getLogger(__name__)

def open_media(path: str | Path) -> MediaSource:
    """Open a video, a single image, a folder of images or a numbered sequence. Raises InputError."""
    from .sequence import is_pattern, open_sequence

    path = Path(path)
    if is_pattern(path) and not path.exists():  # shot.%04d.png, shot.####.png
        seq = open_sequence(path)
        assert seq is not None  # a pattern yields a sequence or raises InputError
        return seq
    try:
        st = path.stat()
    except OSError as err:
        raise _input_error(err, path) from err
    if path.is_dir():
        return open_sequence(path) or ImageFolderSource(path)  # numbered frames, else name order
    if st.st_size == 0:
        raise InputError("is empty (0 bytes)", path)
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path)
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise _input_error(err, path) from err
    if path.suffix.lower() in IMAGE_EXTS:
        return ImageSource(path)
    from .video import VideoSource

    return VideoSource(path)


def _input_error(err: OSError, path: Path) -> InputError:
    """An OSError while reading an input is an input problem, even 'permission denied'."""
    mapped = from_os_error(err, path)
    return mapped if isinstance(mapped, InputError) else InputError(mapped.message, path)


def read_image(path: Path) -> np.ndarray | None:
    """BGR uint8 with EXIF orientation applied, or None if it cannot be decoded.

    Decoded from bytes rather than with ``cv2.imread`` so non-ASCII paths work everywhere. An
    image whose header declares too many pixels (a bomb) raises InputError before decoding.
    """
    from ..contracts.image import decode_image

    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data:
        return None
    return decode_image(data, path)


def _image_info(path: Path, first: np.ndarray, count: int) -> MediaInfo:
    h, w = first.shape[:2]
    return MediaInfo(path=path, is_video=False, frame_count=count, fps=0.0, width=w, height=h)


class ImageSource:
    """A single still image: one frame, index 0."""

    def __init__(self, path: Path):
        self.path = path
        self._image = read_image(path)
        if self._image is None:
            raise InputError(f"not a readable image ({path.suffix.lower()} file could not be decoded)", path)
        self.info = _image_info(path, self._image, 1)
        self.skipped = 0

    def frames(self, start: int = 0, every: int = 1) -> Generator[Frame, None, None]:
        check_frame_args(start, every)
        if start == 0 and self._image is not None:
            yield Frame(0, 0.0, self._image.copy(), self.path.name)


class ImageFolderSource:
    """Images in one folder, sorted by file name; hidden and non-image files are ignored.

    Frames may differ in size; ``info`` describes the first. An image that
    cannot be decoded is skipped (counted in ``skipped``) but keeps its index,
    so indices always equal positions in the sorted listing.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            entries = sorted(p for p in path.iterdir()
                             if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".") and p.is_file())
        except OSError as err:
            raise _input_error(err, path) from err
        if not entries:
            exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTS))
            raise InputError(f"folder has no images ({exts})", path)
        self.files = entries
        first = None
        for f in entries:
            try:
                first = read_image(f)
            except InputError as err:
                log.warning("%s; skipped", err)
                continue
            if first is not None:
                break
        if first is None:
            raise InputError(f"none of the {len(entries)} images in the folder can be decoded", path)
        self.info = _image_info(path, first, len(entries))
        self.skipped = 0

    def frames(self, start: int = 0, every: int = 1) -> Generator[Frame, None, None]:
        check_frame_args(start, every)
        for index in range(start, len(self.files)):
            if index % every:
                continue
            f = self.files[index]
            try:
                img = read_image(f)
            except InputError as err:
                self.skipped += 1
                log.warning("%s; skipped", err)
                continue
            if img is None:
                self.skipped += 1
                log.warning("%s: cannot decode this image; skipped", f)
                continue
            yield Frame(index, 0.0, img, f.name)
