"""The numbers of ``twoface evaluate``: each a small pure function on arrays.

Why these: a face swap must (1) look like the target person (identity
retrieval and similarity, judged by dlib, see judge.py), (2) keep what the
source face did (pose and expression errors), (3) not shake (jitter), and (4)
reproduce a face faithfully when asked to redraw the same person (SSIM/PSNR of
A->A and B->B reconstructions on held-out faces, which measures capacity
without needing a ground truth for the swap itself).
"""
from __future__ import annotations

import cv2
import numpy as np


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 3:
        img = cv2.cvtColor(img.astype(np.uint8) if img.dtype == np.uint8 else img.astype(np.float32),
                           cv2.COLOR_BGR2GRAY)
    return img.astype(np.float64) / (255.0 if np.asarray(img).dtype == np.uint8 else 1.0)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) of two images, on luma, 11x11 Gaussian window.

    uint8 images are taken in [0, 255], float images in [0, 1].
    """
    x, y = _gray(a), _gray(b)
    if x.shape != y.shape:
        raise ValueError(f"ssim of differently sized images {x.shape} and {y.shape}")
    c1, c2 = (0.01) ** 2, (0.03) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return float((num / den).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (uint8: peak 255; float: peak 1). Identical images: inf."""
    a, b = np.asarray(a), np.asarray(b)
    peak = 255.0 if a.dtype == np.uint8 else 1.0
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute difference of angles in degrees, wrapped to [0, 180]."""
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64) + 180.0) % 360.0 - 180.0
    return np.abs(d)


def pose_error(source: np.ndarray, swapped: np.ndarray) -> dict:
    """Mean |yaw|, |pitch|, |roll| differences (degrees) between matching (N, 3) pose rows."""
    err = angle_error(source, swapped).reshape(-1, 3)
    if not len(err):
        return {"yaw": None, "pitch": None, "roll": None, "mean": None}
    per = err.mean(axis=0)
    return {"yaw": float(per[0]), "pitch": float(per[1]), "roll": float(per[2]), "mean": float(err.mean())}


def expression_error(source: np.ndarray, swapped: np.ndarray) -> float | None:
    """Mean L2 distance between matching rows of 52 blendshape scores."""
    s, w = np.asarray(source, np.float64), np.asarray(swapped, np.float64)
    if s.size == 0:
        return None
    return float(np.linalg.norm(s.reshape(len(s), -1) - w.reshape(len(w), -1), axis=1).mean())


def expression_floor(source: np.ndarray, target_faces: np.ndarray) -> float | None:
    """The expression error of the best the target's own faces offer: for each source row the nearest.

    Why: a decoder draws the target from the target's faces only. When the target never makes the
    source's expression (never frowns, say), this floor is high, and no training gets the swap's
    error below it; telling the user so points at the data, not at the model.
    """
    s = np.asarray(source, np.float64).reshape(-1, 52)
    t = np.asarray(target_faces, np.float64).reshape(-1, 52)
    if not len(s) or not len(t):
        return None
    d = np.linalg.norm(s[:, None, :] - t[None, :, :], axis=2)
    return float(d.min(axis=1).mean())


def expression_largest(source: np.ndarray, swapped: np.ndarray, names: tuple[str, ...], k: int = 5) -> dict:
    """The ``k`` blendshapes on which the swap differs most from the source, mean signed (swap - source)."""
    s, w = np.asarray(source, np.float64).reshape(-1, 52), np.asarray(swapped, np.float64).reshape(-1, 52)
    if not len(s):
        return {}
    diff = (w - s).mean(axis=0)
    return {names[i]: round(float(diff[i]), 3) for i in np.argsort(-np.abs(diff))[:k]}


def landmark_noise(tracks: np.ndarray, sizes: np.ndarray | None = None) -> float | None:
    """Frame-to-frame landmark noise of one face track (T, N, 2), in units of face size.

    The second difference p[t+1] - 2 p[t] + p[t-1] is zero for steady motion and
    large for shaking, so it measures jitter rather than movement. ``sizes`` (T,)
    normalises each frame (e.g. the face's width); default: the landmarks' extent.
    """
    p = np.asarray(tracks, np.float64)
    if p.ndim != 3 or len(p) < 3:
        return None
    if sizes is None:
        sizes = (p.max(axis=1) - p.min(axis=1)).max(axis=1)
    sizes = np.maximum(np.asarray(sizes, np.float64), 1e-6)
    acc = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=2).mean(axis=1)
    return float((acc / sizes[1:-1]).mean())


def jitter_ratio(swapped_tracks: list[np.ndarray], source_tracks: list[np.ndarray]) -> dict:
    """Landmark noise of the swap divided by the source's (1.0: no worse than the source).

    Each argument is a list of contiguous tracks (runs of frames with the face);
    the noise of a list is the frame-weighted mean over its tracks.
    """
    def pooled(tracks):
        vals = [(landmark_noise(t), len(t)) for t in tracks]
        vals = [(v, n) for v, n in vals if v is not None]
        if not vals:
            return None
        return float(sum(v * n for v, n in vals) / sum(n for _, n in vals))

    sw, src = pooled(swapped_tracks), pooled(source_tracks)
    ratio = None if sw is None or not src else sw / src
    return {"swapped_noise": sw, "source_noise": src, "ratio": ratio}


def retrieval(embeddings: np.ndarray, gallery: dict[str, np.ndarray], target: str) -> dict:
    """Share of ``embeddings`` whose nearest gallery identity (cosine to its centroid) is ``target``.

    ``gallery`` maps identity name -> (K, D) unit embeddings of real faces. Also
    gives the mean cosine to every identity, so similarity to target and source can be read off.
    """
    names = list(gallery)
    cents = np.stack([_unit(np.asarray(gallery[n], np.float64).mean(axis=0)) for n in names])
    e = np.asarray(embeddings, np.float64).reshape(-1, cents.shape[1])
    if not len(e):
        return {"n": 0, "accuracy": None, "chance": 1.0 / len(names), "similarity": {}, "nearest": {}}
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    sims = e @ cents.T
    nearest = np.argmax(sims, axis=1)
    counts = {n: int((nearest == i).sum()) for i, n in enumerate(names)}
    return {
        "n": int(len(e)),
        "accuracy": float(np.mean(nearest == names.index(target))),
        "chance": 1.0 / len(names),
        "similarity": {n: float(sims[:, i].mean()) for i, n in enumerate(names)},
        "nearest": counts,
    }


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def sharpness(img: np.ndarray, mask: np.ndarray | None = None) -> float:
    """High-frequency energy of a face: variance of the luma Laplacian inside ``mask`` (>= 0.5).

    Why the Laplacian: a blur removes exactly the fine detail (pores, eyelashes, lip lines)
    that it responds to, so its variance falls towards 0 as a face gets smoother, whatever
    the face's colour. Luma in [0, 1] (uint8 is scaled), so images of any dtype compare.
    """
    lap = cv2.Laplacian(_gray(img), cv2.CV_64F, ksize=3, borderType=cv2.BORDER_REFLECT)
    if mask is None:
        return float(lap.var())
    inside = (np.asarray(mask, np.float64).reshape(lap.shape) >= 0.5).astype(np.uint8)
    # one pixel in from the mask's edge, so that the 3x3 Laplacian reads only pixels inside it
    sel = cv2.erode(inside, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return float(lap[sel].var()) if sel.sum() > 1 else float("nan")


def sharpness_ratio(swaps: list[np.ndarray], swap_masks: list[np.ndarray | None],
                    reals: list[np.ndarray], real_masks: list[np.ndarray | None]) -> dict:
    """Mean sharpness of the swaps over that of real faces of the target at the same size.

    A blurred face scores near 0, a swap as detailed as the real target 1 (it can exceed 1
    when the swap is noisier than a real face: speckle is high-frequency energy too).
    """
    def mean(imgs, masks):
        vals = [sharpness(i, m) for i, m in zip(imgs, masks)]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else None

    sw, real = mean(swaps, swap_masks), mean(reals, real_masks)
    return {"swap": sw, "real": real, "ratio": None if sw is None or not real else sw / real}


def verification(embeddings: np.ndarray, target: np.ndarray, threshold: float) -> dict:
    """Share of ``embeddings`` whose cosine to the centroid of ``target`` (K, D) is >= ``threshold``.

    The judge's same-person threshold (see judge.VERIFY_THRESHOLD) turns "nearer to the target
    than to 11 others" (retrieval) into "close enough to be taken for the target" (verification).
    """
    e = np.asarray(embeddings, np.float64).reshape(-1, np.asarray(target).shape[-1])
    if not len(e):
        return {"n": 0, "rate": None, "threshold": threshold}
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    sims = e @ _unit(np.asarray(target, np.float64).mean(axis=0))
    return {"n": int(len(e)), "rate": float(np.mean(sims >= threshold)), "threshold": threshold,
            "mean_similarity": float(sims.mean())}


def calibrate_threshold(probes: dict[str, np.ndarray], gallery: dict[str, np.ndarray],
                        same_pass: float = 0.99, diff_pass: float = 0.01) -> dict:
    """The cosine threshold at which >= ``same_pass`` of same-person (probe, own centroid) pairs pass
    and <= ``diff_pass`` of different-person (probe, other centroid) pairs do.

    ``probes`` and ``gallery`` map identity -> (K, D) descriptors of real faces (disjoint sets).
    The threshold returned is the lowest that keeps different-person passes within ``diff_pass``
    (the usual operating point: a 1 % false-accept rate); ``feasible`` says whether the same-person
    pass rate there reaches ``same_pass`` too (when it is False, ``same_pass`` says how far short).
    ``upper`` is the highest threshold that still passes ``same_pass`` of the same person.
    """
    names = [n for n in probes if n in gallery]
    cents = np.stack([_unit(np.asarray(gallery[n], np.float64).mean(axis=0)) for n in names])
    same_parts, diff_parts = [], []
    for i, n in enumerate(names):
        e = np.asarray(probes[n], np.float64)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        sims = e @ cents.T
        same_parts.append(sims[:, i])
        diff_parts.append(np.delete(sims, i, axis=1).ravel())
    same, diff = np.concatenate(same_parts), np.concatenate(diff_parts)
    d = np.sort(diff)[::-1]  # just above the (k+1)-th highest different-person cosine: k = diff_pass of them pass
    lo = float(np.nextafter(d[min(len(d) - 1, int(np.floor(diff_pass * len(d))))], np.inf))
    s = np.sort(same)  # the k-th lowest same-person cosine: all but k = (1 - same_pass) of them pass
    hi = float(s[min(len(s) - 1, int(np.floor((1 - same_pass) * len(s))))])
    feasible = hi >= lo
    t = lo
    return {"threshold": t, "upper": hi, "feasible": bool(feasible), "same_pass": float(np.mean(same >= t)),
            "diff_pass": float(np.mean(diff >= t)), "same_pairs": int(len(same)), "diff_pairs": int(len(diff)),
            "identities": names, "same_min": float(same.min()), "diff_max": float(diff.max())}
