"""An invisible, perceptually shaped watermark in every converted frame, and its detector.

Why our own code: the maintained library (``invisible-watermark``) needs a GUI
build of OpenCV, and the learned video watermarks (Video Seal, SynthID) have no
offline weights here. What we need is small and has a provable false-positive
rate: ~250 lines of numpy/cv2.

The pattern. A 64×64 tile whose 2-D Fourier coefficients in a ring of radii
``BAND`` (cycles per tile: wavelengths of 5-16 px) are ``±1 ± i`` signs drawn
from a fixed key, and zero elsewhere; tiled over the frame from (0, 0) and
added equally to B, G and R (luma only). The same pattern is in every frame.

Invisible by construction. The pattern is multiplied by a perceptual mask
(``mask``): a texture measure (mean absolute residual after a small blur, at
half resolution, eroded so it does not spill over edges into flat neighbours)
minus a dead zone, times a gain, capped, and raised in dark and bright areas
(luminance masking). Flat areas, smooth gradients and sensor-noise-level areas
get exactly zero after rounding; texture gets up to ``AMAX`` levels.

Robust by search. The detector sums the luma of the frames it is given
(pooling: the pattern adds up frame after frame, content does not), then for
each candidate scale in ``SCALES`` folds the pooled image into one tile of the
scaled period (sum of all complete tiles), takes its FFT, keeps only the phase
of the ring coefficients (whitening), and correlates with the key's template
and its mirror image at every cyclic offset at once (one inverse FFT). That
covers re-encoding (the ring is mid-low frequency), rescaling by a listed
factor, any crop (a crop is a cyclic offset), horizontal flips, frame-rate
changes and cuts (the pattern is the same in every frame).

False positives. At one offset, scale and mirror, ``z = Σ_k Re(conj(C_k) U_k) /
sqrt(Σ|U_k|²)`` is a sum of independent random signs (the key) times numbers
fixed by the image, so by Hoeffding ``P(z >= t) <= exp(-t²/2)`` for *any* image
not made with this key. A union bound over all ``TESTS`` offsets × scales ×
mirrors gives ``P(max z >= t) <= TESTS·exp(-t²/2)``; ``THRESHOLD`` makes that
1e-6 per detection (one pooled window, e.g. one second of video), whatever the
content.

This is a cooperative label, not a security feature: the key is in this open
source file, so anyone can find (or subtract) the pattern.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PERIOD = 64  # tile side in pixels of the marked frame
KEY = 0x74776F66  # "twof"
BAND = (4.0, 12.5)  # ring of Fourier radii (cycles per tile) carrying the mark
SCALES = (1.0, 0.75, 2 / 3, 0.5)  # rescales the detector searches (output size / marked size)
GAIN = 1.0  # embedding amplitude per level of local texture above the dead zone
DEAD = 0.5  # texture (mean |residual|, levels) below which nothing is added
AMAX = 4.0  # cap on the pattern amplitude (times the unit-RMS pattern), in levels
FALSE_POSITIVE = 1e-6  # bound on P(found) for unmarked content, per detection (per pooled window)


@dataclass(frozen=True)
class WatermarkResult:
    """``score`` is the best z over the search; ``found`` is ``score >= threshold``.

    ``frames`` is how many frames were pooled; ``scale``/``flipped``/``offset``
    say where the best match was (meaningful only when found).
    """

    found: bool
    score: float
    threshold: float
    frames: int = 1
    scale: float = 1.0
    flipped: bool = False
    offset: tuple[int, int] = (0, 0)


# ------------------------------------------------------------------ the key's template
@functools.lru_cache(maxsize=1)
def _template() -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """(ky, kx) of the half ring, its coefficients C and mirrored C', and the unit-RMS spatial tile."""
    f = np.fft.fftfreq(PERIOD, 1.0 / PERIOD)
    ky, kx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(ky, kx)
    half = (kx > 0) | ((kx == 0) & (ky > 0))
    ring = half & (radius >= BAND[0]) & (radius <= BAND[1])
    rng = np.random.default_rng(KEY)
    n = int(ring.sum())
    coef = rng.choice([-1.0, 1.0], n) + 1j * rng.choice([-1.0, 1.0], n)
    full = np.zeros((PERIOD, PERIOD), complex)
    iy, ix = np.nonzero(ring)
    full[iy, ix] = coef
    full[(-iy) % PERIOD, (-ix) % PERIOD] = np.conj(coef)  # Hermitian: a real pattern
    tile = np.fft.ifft2(full).real
    # a horizontal mirror p(-x, y) has spectrum C(ky, -kx)
    mirrored = full[:, (-np.arange(PERIOD)) % PERIOD][iy, ix]
    return (ky[iy, ix].astype(int), kx[iy, ix].astype(int)), coef, mirrored, tile / tile.std()


def _tests() -> int:
    """How many (scale, mirror, offset) hypotheses one detection tries."""
    return sum(2 * round(PERIOD * s) ** 2 for s in SCALES)


TESTS = _tests()
THRESHOLD = math.sqrt(2 * math.log(TESTS / FALSE_POSITIVE))  # ~7.1


def false_positive_bound(threshold: float = THRESHOLD) -> float:
    """Upper bound on P(max z >= threshold) for one detection on content not marked with the key."""
    return min(1.0, TESTS * math.exp(-threshold * threshold / 2))


# ------------------------------------------------------------------ embedding
@functools.lru_cache(maxsize=4)
def _half_pattern(height: int, width: int) -> np.ndarray:
    """The pattern at half resolution (period 32, the same ring coefficients), pre-emphasised.

    Embedding upsamples it ×2 with linear interpolation, whose response at
    frequency f (cycles/px) is cos²(πf) per axis; dividing by that here makes
    the upsampled mark carry the full-resolution template's spectrum.
    """
    (ky, kx), coef, _, _ = _template()
    n = PERIOD // 2
    gain = 1.0 / (np.cos(np.pi * kx / PERIOD) ** 2 * np.cos(np.pi * ky / PERIOD) ** 2)

    def tile_of(c: np.ndarray) -> np.ndarray:
        spec = np.zeros((n, n), complex)
        spec[ky % n, kx % n] = c
        spec[(-ky) % n, (-kx) % n] = np.conj(c)
        return np.fft.ifft2(spec).real

    tile = tile_of(coef * gain) / tile_of(coef).std()  # unit RMS before the emphasis
    reps = (-(-height // n), -(-width // n))
    return np.ascontiguousarray(np.tile(tile.astype(np.float32), reps)[:height, :width])


def _half_mask(gray: np.ndarray) -> np.ndarray:
    """Pattern amplitude (float32, levels) at half resolution for a uint8 luma frame: zero on flat areas.

    Texture is the mean absolute residual after a Gaussian blur at half
    resolution (a linear ramp has none), averaged and eroded at quarter
    resolution so that the flat side of an edge gets nothing; luminance masking
    raises it up to 1.5× in dark and bright areas.
    """
    h, w = gray.shape
    half = (max(1, w // 2), max(1, h // 2))
    small = cv2.resize(gray, half, interpolation=cv2.INTER_AREA).astype(np.float32)
    blur = cv2.GaussianBlur(small, (0, 0), 1.2)
    quarter = (max(1, half[0] // 2), max(1, half[1] // 2))
    act = cv2.resize(cv2.absdiff(small, blur), quarter, interpolation=cv2.INTER_AREA)
    act = cv2.erode(cv2.blur(act, (3, 3)), np.ones((3, 3), np.uint8))
    lum = cv2.resize(blur, quarter, interpolation=cv2.INTER_AREA)
    amp = np.clip((act - DEAD) * GAIN, 0.0, AMAX) * (1.0 + np.abs(lum - 128.0) / 256.0)  # Weber-like
    return cv2.resize(amp.astype(np.float32), half, interpolation=cv2.INTER_LINEAR)


def mask(gray: np.ndarray) -> np.ndarray:
    """Per-pixel pattern amplitude at full resolution (float32, levels); see ``_half_mask``."""
    return cv2.resize(_half_mask(gray), gray.shape[::-1], interpolation=cv2.INTER_LINEAR)


def embed(bgr: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """A copy of ``bgr`` (uint8 H×W×3) carrying the watermark, ``strength`` × the perceptual amplitude.

    Why half resolution: mask × pattern is computed on a quarter of the pixels
    (the ring is below the half-resolution Nyquist limit) and only the rounded
    8-bit result is upsampled and added, in one saturating pass.
    """
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected uint8 BGR (H, W, 3), got {bgr.dtype} {bgr.shape}")
    h, w = bgr.shape[:2]
    if h < 4 or w < 4:
        return bgr.copy()
    amp = _half_mask(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if strength != 1.0:
        amp *= float(strength)
    delta = cv2.multiply(amp, _half_pattern(*amp.shape))
    offset = cv2.convertScaleAbs(delta, alpha=1.0, beta=128.0)  # rint(128 + delta), always >= 0 here
    offset = cv2.cvtColor(cv2.resize(offset, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR)
    return cv2.addWeighted(bgr, 1.0, offset, 1.0, -128.0)  # saturating bgr + delta


# ------------------------------------------------------------------ detection
def luma(bgr: np.ndarray) -> np.ndarray:
    """The float32 luma the detector pools (BGR or already grey)."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    return gray.astype(np.float32)


def pool(frames: Iterable[np.ndarray]) -> tuple[np.ndarray | None, int]:
    """(sum of the frames' luma, how many) over frames of one size; frames of another size are skipped."""
    acc, used = None, 0
    for image in frames:
        g = luma(image)
        if acc is None:
            acc = g.copy()
        elif g.shape == acc.shape:
            acc += g
        else:
            continue
        used += 1
    return acc, used


def _fold(img: np.ndarray, q: int) -> np.ndarray | None:
    h, w = (img.shape[0] // q) * q, (img.shape[1] // q) * q
    if h == 0 or w == 0:
        return None
    return img[:h, :w].reshape(h // q, q, w // q, q).sum(axis=(0, 2), dtype=np.float64)


def _search_scale(pooled: np.ndarray, scale: float) -> tuple[float, bool, tuple[int, int]]:
    """Best (z, mirrored, offset) at one scale; z = 0 when the image is too small to fold."""
    (ky, kx), coef, mirrored, _ = _template()
    exact = PERIOD * scale
    q = round(exact)
    if q / 2 <= BAND[1]:
        return 0.0, False, (0, 0)
    img = pooled
    if abs(q / exact - 1) > 1e-9:  # make the period an integer number of pixels
        r = q / exact
        img = cv2.resize(pooled, (round(pooled.shape[1] * r), round(pooled.shape[0] * r)),
                         interpolation=cv2.INTER_LINEAR)
    tile = _fold(img, q)
    if tile is None:
        return 0.0, False, (0, 0)
    x = np.fft.fft2(tile)[ky % q, kx % q]
    mag = np.abs(x)
    u = np.where(mag > 1e-6 * (mag.max() + 1e-30), x / np.maximum(mag, 1e-30), 0)
    norm = math.sqrt(float((np.abs(u) ** 2).sum()))
    if norm <= 0:
        return 0.0, False, (0, 0)
    best = (-np.inf, False, (0, 0))
    for flip, c in ((False, coef), (True, mirrored)):
        g = np.zeros((q, q), complex)
        g[ky % q, kx % q] = np.conj(c) * u
        corr = np.fft.ifft2(g).real * (q * q) / norm
        i = int(corr.argmax())
        if corr.flat[i] > best[0]:
            best = (float(corr.flat[i]), flip, (i // q, i % q))
    return best


def score_pooled(pooled: np.ndarray, frames: int = 1, threshold: float = THRESHOLD,
                 scales: Iterable[float] = SCALES) -> WatermarkResult:
    """Search a pooled luma image (``pool``) over every scale, mirror and offset."""
    best = (0.0, 1.0, False, (0, 0))
    for s in scales:
        z, flip, off = _search_scale(pooled, s)
        if z > best[0]:
            best = (z, s, flip, off)
    z, s, flip, off = best
    return WatermarkResult(z >= threshold, z, threshold, frames, s, flip, off)


def detect_frames(frames: Iterable[np.ndarray], threshold: float = THRESHOLD) -> WatermarkResult:
    """Pool ``frames`` (BGR or grey, one size) and test them once."""
    acc, used = pool(frames)
    if acc is None:
        return WatermarkResult(False, 0.0, threshold, 0)
    return score_pooled(acc, used, threshold)


def detect(bgr: np.ndarray, threshold: float = THRESHOLD) -> WatermarkResult:
    """Is the watermark in this one image? Images too small to hold a tile score 0."""
    return detect_frames([bgr], threshold)


def detect_video(path: str | Path, max_frames: int = 48, threshold: float = THRESHOLD,
                 start: int = 0) -> WatermarkResult:
    """Pool up to ``max_frames`` frames of a video, spread evenly from ``start``, and test them once.

    Pooling the pixels (not averaging per-frame scores) keeps the bound valid
    even when frames are near copies of each other.
    """
    from .reader import open_media

    source = open_media(path)
    total = max(1, source.info.frame_count - start)
    every = max(1, total // max(1, max_frames))
    acc, used = None, 0
    for frame in source.frames(start=start, every=every):
        g = luma(frame.image)
        if acc is None:
            acc = g
        elif g.shape == acc.shape:
            acc += g
        used += 1
        if used >= max_frames:
            break
    if acc is None:
        return WatermarkResult(False, 0.0, threshold, 0)
    return score_pooled(acc, used, threshold)
