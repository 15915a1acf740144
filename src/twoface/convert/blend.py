"""Masks and pasting: how a swapped face goes back into its frame.

Mask shaping happens in aligned space, at the model's output size, so the
same percentages mean the same thing for every face and every model:
``erode`` shrinks (positive) or grows (negative) the mask by a percentage of
the face crop; ``blur`` softens its edge with a Gaussian whose kernel is a
percentage of the crop, ``blur_passes`` times; a border fade always takes the
mask to zero at the crop's edge so a square seam can never show.

Pasting warps the face and its mask back with the inverse transform (sub-pixel,
``WARP_INVERSE_MAP``) into a BGR + alpha layer covering only the frame box where
the mask is non-zero, so the cost grows with the face, not the frame. Pixels
where the mask is zero are left exactly as they were.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .sharpen import sharpen

MASK_KINDS = ("extended", "components", "predicted", "none")


@dataclass
class MaskOptions:
    """How to shape the blend mask; percentages are of the aligned crop's width."""

    kind: str = "extended"
    erode: float = 0.0  # % of the crop; negative dilates
    blur: float = 5.0  # % of the crop: Gaussian kernel size of the edge softening
    blur_passes: int = 1
    border: float = 3.0  # % of the crop: fade to zero at the crop's edge


def _odd(n: float) -> int:
    k = max(1, int(round(n)))
    return k if k % 2 else k + 1


def erode_mask(mask: np.ndarray, percent: float) -> np.ndarray:
    """Erode (percent > 0) or dilate (percent < 0) by ``|percent|`` % of the mask's width."""
    radius = abs(percent) / 100.0 * mask.shape[1]
    if radius < 0.5:
        return mask
    k = _odd(2 * radius)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    op = cv2.erode if percent > 0 else cv2.dilate
    return op(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)


def blur_mask(mask: np.ndarray, percent: float, passes: int = 1) -> np.ndarray:
    """Gaussian-soften the mask edge; kernel ``percent`` % of the width, repeated ``passes`` times."""
    if percent <= 0 or passes <= 0:
        return mask
    k = _odd(percent / 100.0 * mask.shape[1])
    if k < 3:
        return mask
    for _ in range(passes):
        mask = cv2.GaussianBlur(mask, (k, k), 0, borderType=cv2.BORDER_CONSTANT)
    return mask


def border_fade(mask: np.ndarray, percent: float) -> np.ndarray:
    """Multiply by a ramp that is 0 at the crop's edge and 1 at ``percent`` % inside it."""
    h, w = mask.shape
    width = max(1.0, percent / 100.0 * w)
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    xs = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    ry = np.clip(ys / width, 0.0, 1.0)
    rx = np.clip(xs / width, 0.0, 1.0)
    return mask * np.minimum(ry[:, None], rx[None, :])


def shape_mask(mask: np.ndarray, opts: MaskOptions) -> np.ndarray:
    """Erode/dilate, blur, fade the border: the final float32 alpha in [0, 1]."""
    mask = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
    mask = erode_mask(mask, opts.erode)
    mask = blur_mask(mask, opts.blur, opts.blur_passes)
    return np.clip(border_fade(mask, opts.border), 0.0, 1.0)


def _roi(M: np.ndarray, box: Sequence[float],
         frame_shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The frame box (x0, y0, x1, y1) covering the aligned-space ``box`` (x, y, w, h), clipped.

    None when it lies outside the frame.
    """
    inv = cv2.invertAffineTransform(np.asarray(M, np.float64))
    bx, by, bw, bh = box
    corners = np.array([[bx, by], [bx + bw, by], [bx, by + bh], [bx + bw, by + bh]], np.float64)
    pts = corners @ inv[:, :2].T + inv[:, 2]
    h, w = frame_shape[:2]
    x0, y0 = max(0, int(np.floor(pts[:, 0].min())) - 1), max(0, int(np.floor(pts[:, 1].min())) - 1)
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max())) + 2), min(h, int(np.ceil(pts[:, 1].max())) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def warp_back(face: np.ndarray, mask: np.ndarray, M: np.ndarray, frame_shape: tuple[int, ...]):
    """Warp an aligned face and its mask into frame space.

    ``face`` is uint8 or float32 BGR (float in [0, 1]). Returns ``(x0, y0, bgr, alpha)``:
    uint8 (h, w, 3) face pixels and float32 (h, w) alpha for the frame box starting at
    (x0, y0) that covers the mask's non-zero part, or None when that lies outside
    the frame (or the mask is empty). Working in uint8 keeps the per-pixel cost of a
    large face in the frame low; the sub-pixel accuracy is in the warp itself.
    """
    support = cv2.boundingRect((mask > 0).astype(np.uint8))  # only where the mask is non-zero
    if support[2] == 0 or support[3] == 0:
        return None
    box = _roi(M, support, frame_shape)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    M_roi = np.asarray(M, np.float64).copy()
    M_roi[:, 2] += M_roi[:, :2] @ np.array([x0, y0], np.float64)  # frame box coords -> aligned
    if face.dtype != np.uint8:
        face = np.clip(face * 255.0 + 0.5, 0, 255).astype(np.uint8)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = (x1 - x0, y1 - y0)
    bgr = cv2.warpAffine(face, M_roi, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(np.asarray(mask, np.float32), M_roi, size, flags=flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return x0, y0, bgr, alpha


def _seamless(patch: np.ndarray, face: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Poisson-clone ``face`` into ``patch`` (both uint8 BGR) where alpha > 0.5."""
    binary = (alpha > 0.5).astype(np.uint8) * 255
    if cv2.countNonZero(binary) < 16:
        return patch
    pad = 2  # seamlessClone needs the cloned region strictly inside the destination
    dst = cv2.copyMakeBorder(patch, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    src = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    msk = cv2.copyMakeBorder(binary, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    bx, by, bw, bh = cv2.boundingRect(msk)
    centre = (bx + bw // 2, by + bh // 2)
    out = cv2.seamlessClone(src, dst, msk, centre, cv2.NORMAL_CLONE)
    return out[pad:-pad, pad:-pad]


def paste(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, M: np.ndarray, *, seamless: bool = False,
          sharpen_method: str = "none", sharpen_amount: float = 1.0, sharpen_radius: float = 1.0) -> bool:
    """Blend an aligned face (float32 BGR [0,1] or uint8, S×S) into ``frame`` (uint8 BGR) in place.

    ``M`` maps frame -> aligned at size S. Returns False when nothing was pasted
    (an empty mask, or a face outside the frame).
    """
    warped = warp_back(face, mask, M, frame.shape)
    if warped is None:
        return False
    x0, y0, bgr, alpha = warped
    h, w = alpha.shape
    roi = frame[y0:y0 + h, x0:x0 + w]
    if sharpen_method != "none":
        sharp = sharpen(bgr.astype(np.float32) / 255.0, sharpen_method, sharpen_amount, sharpen_radius)
        bgr = np.clip(sharp * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if seamless:
        bgr = _seamless(roi, bgr, alpha)
    # (a*face + (1-a)*frame) in C++ with rounding; where a == 0 the frame pixel comes back exactly
    roi[...] = cv2.blendLinear(bgr, roi, alpha, 1.0 - alpha)
    return True
