"""Frames above 8 bits: 16-bit PNG/TIFF and float EXR read, watermarked, labelled and written back.

Why a second copy of the pixels: face finding and the model work on 8-bit BGR,
but a 16-bit plate squeezed to 8 bits and written back bands on every smooth
gradient. So a deep frame travels as its 8-bit view (``image``, for analysis)
plus its own pixels (``deep``); the swap is pasted into the deep pixels in
float and written at the input's depth, and pixels the swap does not touch
come back bit for bit.

EXR: OpenCV reads and writes it only when built with OpenEXR and
``OPENCV_IO_ENABLE_OPENEXR=1`` is set; otherwise one clear error says so.
EXR pixels are taken as linear light: the 8-bit view is sRGB-encoded
(gamma 2.2) so faces can be found, and the swapped face is decoded back.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InputError, OutputError

GAMMA = 2.2  # display <-> linear for EXR (float) frames


def exr_supported(write: bool = False) -> bool:
    """Whether this OpenCV build has an OpenEXR codec enabled."""
    try:
        if write:
            return bool(cv2.haveImageWriter("probe.exr"))
        ok, buf = cv2.imencode(".exr", np.zeros((2, 2, 3), np.float32))
        return bool(ok) and cv2.imdecode(buf, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR) is not None
    except cv2.error:
        return False


def _no_exr(path: Path, error=InputError):
    return error(f"this OpenCV build ({cv2.__version__}) cannot {'read' if error is InputError else 'write'} "
                 "OpenEXR: use an OpenCV built with OpenEXR and set OPENCV_IO_ENABLE_OPENEXR=1, or convert the "
                 "sequence to 16-bit TIFF or PNG", path)


def scale_of(dtype: npt.DTypeLike) -> float:
    """Full-scale value of a pixel type: 255, 65535, or 1.0 for float."""
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def depth_of(dtype: npt.DTypeLike) -> int:
    return np.dtype(dtype).itemsize * 8


def to_uint8(img: np.ndarray) -> np.ndarray:
    """The 8-bit view of any frame (rounded; float frames are linear and get sRGB-encoded)."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return cv2.convertScaleAbs(img, alpha=1.0 / 257.0)
    lin = np.clip(np.nan_to_num(img.astype(np.float32)), 0.0, 1.0)
    return np.clip(lin ** (1.0 / GAMMA) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_unit(img: np.ndarray) -> np.ndarray:
    """Pixels as float32 in [0, 1] of their own scale (display-referred for integer types)."""
    return img.astype(np.float32) / np.float32(scale_of(img.dtype))


def from_unit(x: np.ndarray, dtype: npt.DTypeLike) -> np.ndarray:
    """Float pixels in [0, 1] back to ``dtype`` (rounded, saturated)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return x.astype(dtype)
    s = scale_of(dtype)
    return np.clip(x * s + 0.5, 0, s).astype(dtype)


def read_frame(path: Path) -> tuple[np.ndarray, np.ndarray | None, int] | None:
    """(8-bit BGR view, deep pixels or None, bits per channel), or None if it cannot be decoded."""
    if path.suffix.lower() == ".exr" and not exr_supported():
        raise _no_exr(path)
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    from cv2.utils import logging as cvlog  # OpenCV's own warnings for broken files: we report them ourselves

    level = cvlog.getLogLevel()
    cvlog.setLogLevel(cvlog.LOG_LEVEL_SILENT)
    try:
        img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    finally:
        cvlog.setLogLevel(level)
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        return None
    if img.dtype == np.uint8:
        return img, None, 8
    if img.dtype not in (np.uint16, np.float32):
        img = img.astype(np.float32) / np.float32(scale_of(img.dtype)) if img.dtype.kind in "ui" else \
            img.astype(np.float32)
    return to_uint8(img), img, depth_of(img.dtype)


def as_format(img: np.ndarray, fmt: str) -> np.ndarray:
    """Pixels in a type ``fmt`` can hold: jpg 8-bit, png 8/16-bit, tif any, exr float."""
    if fmt == "jpg" or (fmt in ("png", "tif") and img.dtype == np.uint8):
        return to_uint8(img)
    if fmt == "exr":
        return img.astype(np.float32) if img.dtype.kind == "f" else (to_unit(img) ** GAMMA)
    if fmt == "png" and img.dtype != np.uint16:
        x = np.clip(img, 0, 1) ** (1.0 / GAMMA) if img.dtype.kind == "f" else to_unit(img)
        return from_unit(x, np.uint16)
    return img


def encode(img: np.ndarray, fmt: str, path: Path, quality: int | None = None) -> bytes:
    """Encoded, labelled image bytes of ``img`` as ``fmt`` ('png' | 'jpg' | 'tif' | 'exr')."""
    from .label import label_jpeg, label_png, label_tiff

    if fmt == "exr" and not exr_supported(write=True):
        raise _no_exr(path, OutputError)
    img = as_format(img, fmt)
    params = {"png": [cv2.IMWRITE_PNG_COMPRESSION, 3],
              "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95 if quality is None else int(quality)]}.get(fmt, [])
    ok, buf = cv2.imencode(f".{fmt}", np.ascontiguousarray(img), params)
    if not ok:
        raise OutputError(f"could not encode the frame as {fmt}", path)
    data = buf.tobytes()
    if fmt == "png":
        return label_png(data)
    if fmt == "jpg":
        return label_jpeg(data)
    if fmt == "tif":
        return label_tiff(data)
    return data  # EXR: OpenCV writes no free-text header; the watermark still marks the pixels
