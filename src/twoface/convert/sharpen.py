"""Sharpening of the swapped face after it is warped back into the frame.

Why after the warp: a 64–256 px model output is usually enlarged to fit the
face in the frame, and enlarging is what blurs it, so sharpening at frame scale
restores edges at the scale the viewer sees. Only the face layer is sharpened,
never the untouched background.

All methods add back ``amount`` times the detail (image minus a blurred copy);
they differ in the blur and in whether small differences (noise) are spared:
- ``box``: mean filter of size ``2*radius+1``; crisp but can ring;
- ``gaussian``: Gaussian blur with sigma ``radius``; the smooth default;
- ``unsharp``: Gaussian, but detail below ``threshold`` is left alone so
  skin noise is not amplified.
``radius`` is in pixels of the output frame.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Sharpener = Callable[[np.ndarray, float, float], np.ndarray]

UNSHARP_THRESHOLD = 2.0 / 255.0


def _box(img: np.ndarray, amount: float, radius: float) -> np.ndarray:
    k = max(1, int(round(radius))) * 2 + 1
    return img + amount * (img - cv2.blur(img, (k, k)))


def _gaussian_detail(img: np.ndarray, radius: float) -> np.ndarray:
    return img - cv2.GaussianBlur(img, (0, 0), sigmaX=max(0.3, float(radius)))


def _gaussian(img: np.ndarray, amount: float, radius: float) -> np.ndarray:
    return img + amount * _gaussian_detail(img, radius)


def _unsharp(img: np.ndarray, amount: float, radius: float) -> np.ndarray:
    detail = _gaussian_detail(img, radius)
    detail[np.abs(detail) < UNSHARP_THRESHOLD] = 0.0
    return img + amount * detail


SHARPENERS: dict[str, Sharpener | None] = {
    "none": None,
    "box": _box,
    "gaussian": _gaussian,
    "unsharp": _unsharp,
}


def sharpen(img: np.ndarray, method: str = "none", amount: float = 1.0, radius: float = 1.0) -> np.ndarray:
    """Sharpen a float32 BGR image in [0, 1]; ``none`` or ``amount <= 0`` returns it as is."""
    from ..errors import TwofaceError

    if method not in SHARPENERS:
        raise TwofaceError(f"unknown sharpening {method!r}; choose one of {', '.join(SHARPENERS)}")
    fn = SHARPENERS[method]
    if fn is None or amount <= 0:
        return img
    return np.clip(fn(np.asarray(img, np.float32), float(amount), float(radius)), 0.0, 1.0)
