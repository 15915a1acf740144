"""Pasting a swapped face into a 16-bit or float frame, in float, so nothing is squeezed to 8 bits.

``blend.paste`` works in uint8 (fast, and exact for 8-bit video). Here the
model's float output, its mask and the frame are combined in float32 at the
frame's own scale and rounded once to the frame's type; pixels where the
mask is zero are never written, so they stay bit for bit as read. Float (EXR)
frames are linear light: the face (display-referred, like the model's
training data) is decoded with gamma 2.2 before blending.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..media.deep import GAMMA, from_unit, to_uint8, to_unit
from .blend import _roi, _seamless
from .sharpen import sharpen


def paste_deep(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, M: np.ndarray, *, seamless: bool = False,
               sharpen_method: str = "none", sharpen_amount: float = 1.0, sharpen_radius: float = 1.0) -> bool:
    """Blend an aligned float32 BGR [0, 1] face (S×S) into ``frame`` (uint16 or float32 BGR) in place."""
    support = cv2.boundingRect((mask > 0).astype(np.uint8))
    if support[2] == 0 or support[3] == 0:
        return False
    box = _roi(M, support, frame.shape)
    if box is None:
        return False
    x0, y0, x1, y1 = box
    M_roi = np.asarray(M, np.float64).copy()
    M_roi[:, 2] += M_roi[:, :2] @ np.array([x0, y0], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(np.clip(np.asarray(face, np.float32), 0, 1), M_roi, size, flags=flags,
                            borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(np.asarray(mask, np.float32), M_roi, size, flags=flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = frame[y0:y1, x0:x1]
    if sharpen_method != "none":
        warped = np.clip(sharpen(warped, sharpen_method, sharpen_amount, sharpen_radius), 0, 1)
    linear = frame.dtype.kind == "f"
    if seamless:  # Poisson cloning is 8-bit in OpenCV: clone on the 8-bit view, keep the float result
        face8 = np.clip(warped * 255.0 + 0.5, 0, 255).astype(np.uint8)
        warped = _seamless(to_uint8(roi), face8, alpha).astype(np.float32) / 255.0
    if linear:
        warped = warped ** GAMMA
        base = roi.astype(np.float32)
    else:
        base = to_unit(roi)
    a = alpha[..., None]
    blended = from_unit(base + a * (warped - base), frame.dtype)
    touched = alpha > 0
    roi[touched] = blended[touched]
    return True
