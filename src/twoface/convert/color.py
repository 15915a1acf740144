"""Colour matching of a swapped face to the face it replaces.

Why: the model renders the target identity with the lighting and white balance
of its training set, not of this shot, so a raw paste shows a visible colour
edge. Each matcher shifts the swapped face's colours towards the original
face's, measured *inside the mask only* (the background in the crop would
otherwise drag the statistics). ``seamless`` is not done here: Poisson
blending needs the whole frame, so the blender does it (see blend.py).

Every matcher has one signature: ``(face, target, mask) -> face`` with
float32 BGR images in [0, 1] of the same size and a float32 (H, W) mask.
The registry ``COLOR_MATCHERS`` maps the names users type to them.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

ColorMatcher = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

# pixels whose mask weight is at least this count as "inside the face" for the statistics
INSIDE = 0.5
# below this many inside pixels the statistics are noise: leave the face alone
MIN_PIXELS = 16


def _inside(mask: np.ndarray) -> np.ndarray | None:
    sel = mask >= INSIDE
    return sel if int(sel.sum()) >= MIN_PIXELS else None


def avg_color(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift each channel so its mean inside the mask equals the original face's."""
    sel = _inside(mask)
    if sel is None:
        return face
    shift = target[sel].mean(axis=0) - face[sel].mean(axis=0)
    return np.clip(face + shift.astype(np.float32), 0.0, 1.0)


def _match_channel(src: np.ndarray, ref: np.ndarray, src_all: np.ndarray) -> np.ndarray:
    """Map ``src_all`` so that the distribution of ``src`` becomes that of ``ref``.

    Each of 256 source levels goes to the reference value at the same quantile
    (the middle of the level's CDF step), read from the sorted reference pixels,
    so the output keeps the reference's exact values rather than bin centres.
    """
    bins = np.arange(257, dtype=np.float32) / 256.0
    s_hist, _ = np.histogram(src, bins=bins)
    s_cdf = np.cumsum(s_hist).astype(np.float64) / max(1, src.size)
    q_mid = s_cdf - s_hist / (2.0 * max(1, src.size))
    ref_sorted = np.sort(ref.astype(np.float64))
    positions = (np.arange(ref_sorted.size) + 0.5) / ref_sorted.size
    lut = np.interp(q_mid, positions, ref_sorted).astype(np.float32)  # source level -> reference value
    idx = np.clip((src_all * 256.0).astype(np.int32), 0, 255)
    return lut[idx]


def match_hist(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching, with both histograms taken inside the mask."""
    sel = _inside(mask)
    if sel is None:
        return face
    out = np.empty_like(face)
    for c in range(3):
        out[..., c] = _match_channel(face[..., c][sel], target[..., c][sel], face[..., c])
    return out


def color_transfer(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001: match the mean and spread of each L*a*b* channel inside the mask.

    Why LAB: its channels are nearly decorrelated for natural images, so matching
    them one by one moves lightness without tinting and tint without darkening.
    """
    sel = _inside(mask)
    if sel is None:
        return face
    src_lab = cv2.cvtColor(np.ascontiguousarray(face, np.float32), cv2.COLOR_BGR2LAB)
    ref_lab = cv2.cvtColor(np.ascontiguousarray(target, np.float32), cv2.COLOR_BGR2LAB)
    s_mean, s_std = src_lab[sel].mean(axis=0), src_lab[sel].std(axis=0)
    r_mean, r_std = ref_lab[sel].mean(axis=0), ref_lab[sel].std(axis=0)
    scale = r_std / np.maximum(s_std, 1e-3)
    lab = (src_lab - s_mean) * scale.astype(np.float32) + r_mean.astype(np.float32)
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
    lab[..., 1:] = np.clip(lab[..., 1:], -127.0, 127.0)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2BGR), 0.0, 1.0)


def no_color(face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Leave the face's colours as the model rendered them."""
    return face


# name users type -> matcher. "seamless" does nothing here: the blender does Poisson cloning.
COLOR_MATCHERS: dict[str, ColorMatcher] = {
    "avg": avg_color,
    "match-hist": match_hist,
    "color-transfer": color_transfer,
    "seamless": no_color,
    "none": no_color,
}


def get_color_matcher(name: str) -> ColorMatcher:
    from ..errors import TwofaceError

    try:
        return COLOR_MATCHERS[name]
    except KeyError:
        raise TwofaceError(f"unknown colour matcher {name!r}; choose one of {', '.join(COLOR_MATCHERS)}") from None
