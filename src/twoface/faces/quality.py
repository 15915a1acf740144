"""Face quality scores used to sort and prune a face set.

Blur: the variance of the Laplacian of the grey face. Edges (eyelashes, lip
lines, skin texture) give strong second derivatives; motion blur, defocus and
upscaling of a small face remove them. Measured on the centre of the aligned crop
(or a given mask), so background and hair at the crop border do not count.
"""
from __future__ import annotations

import cv2
import numpy as np


def blur_score(bgr: np.ndarray, mask: np.ndarray | None = None, center: float = 0.5) -> float:
    """Sharpness of an aligned face: variance of the Laplacian (higher is sharper).

    ``mask``: optional float/bool (H, W) weights (e.g. a rendered face mask); without
    one the central ``center`` fraction of the crop is used. Compare scores only
    between crops of the same size.
    """
    grey = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    lap = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=3)
    if mask is not None:
        w = np.asarray(mask, np.float32)
        if w.shape != lap.shape:
            raise ValueError(f"mask shape {w.shape} does not match the image {lap.shape}")
        total = float(w.sum())
        if total <= 0:
            return 0.0
        mean = float((lap * w).sum() / total)
        return float(((lap - mean) ** 2 * w).sum() / total)
    h, w_ = lap.shape
    mh, mw = int(h * (1 - center) / 2), int(w_ * (1 - center) / 2)
    region = lap[mh:h - mh, mw:w_ - mw] if center < 1 else lap
    return float(region.var())
