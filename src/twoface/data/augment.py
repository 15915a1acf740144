"""Batched, torch-side augmentation: random affine, random warp, flip, colour, all at once.

Why batched on the torch side: faceswap augments one face at a time with OpenCV
in worker processes, and on a small CPU that work competes with training. Here
a whole batch is augmented with a handful of tensor ops: the colour jitter and
the uint8 -> float conversion are one batched matrix product; one affine grid
+ ``grid_sample`` gives the target (image and mask in one call, the coarse
eye/mouth weight map in a second); the warped input is sampled with the same
affine grid plus a smooth random displacement field. It runs on whatever device
the tensors are on.

Interface (used by ``data.loader.BatchStream`` and the trainer):

- ``Augmenter(input_size, output_size, warp=True, warp_to_landmarks=False, flip=True, color=True,
  clahe=False, rotation=10, zoom=0.05, shift=0.05, ...)``
- ``aug(images_u8, masks_u8, landmarks, generator) -> Batch``: ``images_u8`` ``uint8 N×3×S×S`` RGB,
  ``masks_u8`` ``uint8 N×1×S×S``, ``landmarks`` ``float N×K×2`` in S-pixel space (FaceSet's cache
  rows), ``generator`` a **CPU** ``torch.Generator``: every random number is drawn from it on the
  CPU and then moved to the device, so a seed gives the same batch on any device.
  ``S`` may differ from the model sizes (the source is area-resized first); cache at
  ``max(input_size, output_size)``.
- ``aug.plain(images_u8, masks_u8, landmarks) -> Batch``: the same tensors without any randomness
  (validation loss, previews).
- ``Batch(warped N×3×in×in, target N×3×out×out, target_mask N×1×out×out, weights N×1×out×out, theta N×2×3)``,
  float32 in [0, 1] except ``weights`` (1, ``eye_multiplier`` on the eyes, ``mouth_multiplier`` on
  the mouth, from ellipses fitted to the landmarks; all ones when the scheme is not 478 or 68 points)
  and ``theta`` (the random affine of each face, output -> source in ``affine_grid``'s coordinates).

What is random, per face: rotation ±``rotation``°, zoom ±``zoom``, shift ±``shift`` of the size, a
horizontal flip (p = 0.5), all applied identically to input, target, mask and weights; colour
(lightness moved towards black/white by up to ±``lightness``, the two colour axes shifted by up to
±``ab_shift`` LAB-like units; done in YCbCr, where it is affine, see :func:`colour_transform`),
applied to input *and* target because it augments the data, it is not a mismatch to learn; the
warp, applied to the input only: a 5×5 grid of control points moved by Gaussian noise (σ =
``warp_scale`` of the size, faceswap's 5/256), bicubically smoothed to 16×16 and read bilinearly
at every pixel. With
``warp_to_landmarks`` the field instead moves each face's landmarks onto those of another random
face of the same batch (same side), by Gaussian-kernel interpolation of the landmark displacements
with zero-displacement anchors on the border.

CLAHE (``clahe=True``) is the one OpenCV step: on ``clahe_chance`` of the faces of each batch, on
the uint8 cache rows (CPU), before the float conversion. It is cheap at 64–128 px and rarely used,
so it is not worth a torch port; on a GPU it costs one host round trip per batch.

``baseline_augment`` is faceswap's per-sample way (OpenCV, one face at a time), kept only so that
``bench/train.py`` can measure the baseline in the same run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Tensor = torch.Tensor

# Regions for the eye and mouth loss multipliers: (right eye, left eye), mouth.
REGIONS_68 = (((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)), tuple(range(48, 60)))


def _regions_478():
    from ..faces.mesh import LEFT_EYE, LIPS_OUTER, RIGHT_EYE

    return (RIGHT_EYE, LEFT_EYE), LIPS_OUTER


@dataclass
class Batch:
    """One augmented batch, ready for the model and the loss."""

    warped: Tensor  # N×3×in×in, model input
    target: Tensor  # N×3×out×out, what the decoder of the same side must render
    target_mask: Tensor  # N×1×out×out, landmark mask of the target
    weights: Tensor  # N×1×out×out, eye/mouth loss multipliers
    # N×2×3: the affine (output -> source, normalised) the target was sampled with, so a loss that
    # needs the face on another template (SFace's, train.face_losses) can undo rotation, zoom and flip
    theta: Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        def move(t: Tensor) -> Tensor:
            return t.to(device, non_blocking=True)

        return Batch(move(self.warped), move(self.target), move(self.target_mask), move(self.weights),
                     None if self.theta is None else move(self.theta))


def _uniform(n: int, amount: float, g: torch.Generator) -> Tensor:
    return (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * amount


def _at_size(x: Tensor, size: int) -> Tensor:
    if x.shape[-1] == size:
        return x
    if x.shape[-1] > size:
        return F.interpolate(x, size=(size, size), mode="area")
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def to_normalized(points: Tensor, size: int) -> Tensor:
    """Pixel coordinates (pixel centres at integers, OpenCV's convention) -> grid_sample's [-1, 1]."""
    return (2 * points + 1) / size - 1


# --- colour ---------------------------------------------------------------------------------------------

# BT.601 full-range RGB -> YCbCr: a linear stand-in for LAB's lightness and a/b axes.
_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
AB_UNIT = 1 / 200  # one LAB a/b unit as a Cb/Cr offset (a*, b* span about ±100 where Cb, Cr span ±0.5)


def colour_transform(lightness: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Per-face 3×3 matrix and offset (N×3×3, N×3) that jitter lightness and the two colour axes.

    Lightness moves towards white (``lightness`` > 0) or black (< 0) by that fraction; ``a``/``b``
    shift the opponent colour axes by that many LAB-like units. The jitter is done in YCbCr rather
    than true LAB because there it is affine, so it folds with the uint8 -> float conversion into
    one batched matrix product: about 10× cheaper than LAB's powers and cube roots, same effect
    for augmentation.
    """
    k = lightness.double()
    scale = torch.stack([1 - k.abs(), torch.ones_like(k), torch.ones_like(k)], 1)  # N×3
    offset = torch.stack([k.clamp_min(0), a.double() * AB_UNIT, b.double() * AB_UNIT], 1)
    ycc, inv = _YCC.double(), torch.linalg.inv(_YCC.double())
    matrix = inv @ (scale[:, :, None] * ycc)  # T⁻¹ D T
    return matrix.float(), (offset @ inv.T).float()


def to_float(images: Tensor, matrix: Tensor | None = None, offset: Tensor | None = None) -> Tensor:
    """uint8 N×3×H×W -> float [0, 1], applying a per-face colour matrix and offset on the way."""
    if matrix is None:
        return images.float() / 255
    n, c, h, w = images.shape
    x = torch.bmm(matrix.to(images.device) / 255, images.reshape(n, c, h * w).float())
    if offset is not None:
        x = x + offset.to(images.device)[:, :, None]
    return x.clamp_(0, 1).view(n, c, h, w)


def clahe_u8(images: Tensor, chosen: Tensor, grids: Tensor, clip: float = 2.0) -> Tensor:
    """CLAHE on the L channel of the chosen uint8 RGB faces (OpenCV, CPU)."""
    if not bool(chosen.any()):
        return images
    out = images.cpu().clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        rgb = np.ascontiguousarray(out[i].permute(1, 2, 0).numpy())
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
        g = int(grids[i])
        lab[..., 0] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(g, g)).apply(lab[..., 0])
        out[i] = torch.from_numpy(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)).permute(2, 0, 1)
    return out.to(images.device)


# --- geometry -------------------------------------------------------------------------------------------

def affine_theta(angle_deg: Tensor, scale: Tensor, tx: Tensor, ty: Tensor, flip: Tensor) -> Tensor:
    """N×2×3 matrices mapping output grid coords to source coords (affine_grid's convention)."""
    a = angle_deg * math.pi / 180
    cos, sin = torch.cos(a) * scale, torch.sin(a) * scale
    sx = torch.where(flip, -1.0, 1.0).to(cos)
    row0 = torch.stack([cos * sx, -sin, tx], 1)
    row1 = torch.stack([sin * sx, cos, ty], 1)
    return torch.stack([row0, row1], 1).float()


WEIGHTS_RES = 64  # the eye/mouth map is drawn at most this fine; grid_sample reads it at any size


def affine_grid(theta: Tensor, size: int) -> Tensor:
    """``F.affine_grid(theta, [N, C, size, size], align_corners=False)`` by broadcasting: the same
    numbers (to 1 ulp) at a third of the cost, since a K=3 batched matmul is the slow way to do it."""
    c = (torch.arange(size, dtype=theta.dtype, device=theta.device) * 2 + 1) / size - 1
    th = theta[:, :, :, None, None]  # N×2×3×1×1
    xs, ys = c.view(1, 1, size), c.view(1, size, 1)
    gx = th[:, 0, 0] * xs + th[:, 0, 1] * ys + th[:, 0, 2]
    gy = th[:, 1, 0] * xs + th[:, 1, 1] * ys + th[:, 1, 2]
    return torch.stack([gx, gy], -1)


def region_weights(landmarks: Tensor, size: int, eye: float, mouth: float, margin: float = 1.6) -> Tensor:
    """N×1×r×r map (r = min(size, 64)): ``eye`` inside ellipses fitted to each eye, ``mouth`` on the
    mouth, 1 elsewhere. Drawn coarse because it is a loss weight: sampling it with the target's
    grid gives soft edges at any output size, for a 4–16th of the cost of drawing it at full size.
    """
    n, k = landmarks.shape[:2]
    res = min(size, WEIGHTS_RES)
    w = torch.ones(n, 1, res, res, device=landmarks.device)
    if k == 478:
        eyes, lips = _regions_478()
    elif k == 68:
        eyes, lips = REGIONS_68
    else:
        return w
    pts = (landmarks.float() + 0.5) * (res / size) - 0.5  # same normalised position at res px
    groups = [list(eyes[0]), list(eyes[1]), list(lips)]
    # one ellipse per region, fitted to its contour points: centre, covariance (+ a floor), inverse
    stats = []
    for idx in groups:
        p = pts[:, idx]  # N×k×2
        mu = p.mean(1)
        d = p - mu[:, None]
        sxx, syy, sxy = (d[..., 0] ** 2).mean(1), (d[..., 1] ** 2).mean(1), (d[..., 0] * d[..., 1]).mean(1)
        stats.append(torch.stack([mu[:, 0], mu[:, 1], sxx, syy, sxy], 1))
    st = torch.stack(stats, 1)  # N×3×5
    floor = (0.015 * res) ** 2
    sxx, syy, sxy = st[..., 2] + floor, st[..., 3] + floor, st[..., 4]
    det = sxx * syy - sxy ** 2
    coords = torch.arange(res, device=landmarks.device, dtype=torch.float32)
    dx = coords.view(1, 1, 1, res) - st[..., 0, None, None]  # N×3×1×r
    dy = coords.view(1, 1, res, 1) - st[..., 1, None, None]  # N×3×r×1
    ia, ib, ic = (syy / det)[..., None, None], (-sxy / det)[..., None, None], (sxx / det)[..., None, None]
    m2 = ia * dx ** 2 + 2 * ib * dx * dy + ic * dy ** 2  # N×3×r×r Mahalanobis²
    # points spread along an ellipse's outline have variance a²/2 per axis: the outline is at m² = 2
    inside = m2 <= 2 * margin ** 2
    w = torch.where(inside[:, :2].any(1, keepdim=True), torch.full_like(w, eye), w)
    return torch.where(inside[:, 2:3], torch.full_like(w, mouth), w)


def landmark_flow(landmarks: Tensor, partner: Tensor, size: int, grid: int = 16, sigma: float = 0.12) -> Tensor:
    """N×2×G×G source-space displacement that moves each face's landmarks onto ``landmarks[partner]``.

    At a point p the input is sampled at p + flow(p); flow is Gaussian-kernel (Nadaraya-Watson)
    interpolated from flow(lm_partner) = lm_self − lm_partner, with zero anchors on the border so
    the frame stays put.
    """
    if landmarks.shape[1] == 478:  # the 68 iBUG-like points carry the shape; 478 would cost 7× more
        from ..faces.mesh import TO_68

        landmarks = landmarks[:, list(TO_68)]
    n = landmarks.shape[0]
    src = to_normalized(landmarks.float(), size)
    dst = src[partner]
    lin = torch.linspace(-1, 1, 9, device=src.device)
    ones = torch.ones_like(lin)
    border = torch.cat([torch.stack([lin, -ones], 1), torch.stack([lin, ones], 1),
                        torch.stack([-ones, lin], 1), torch.stack([ones, lin], 1)])
    pos = torch.cat([dst, border.expand(n, -1, -1)], 1)  # N×(K+B)×2
    disp = torch.cat([src - dst, torch.zeros(n, border.shape[0], 2, device=src.device)], 1)
    g = torch.linspace(-1, 1, grid, device=src.device)
    gy, gx = torch.meshgrid(g, g, indexing="ij")
    q = torch.stack([gx, gy], -1).view(1, -1, 2)  # 1×G²×2
    kern = torch.exp(-torch.cdist(q.expand(n, -1, -1), pos) ** 2 / (2 * sigma ** 2))  # N×G²×(K+B)
    flow = kern @ disp / kern.sum(-1, keepdim=True).clamp_min(1e-8)
    return flow.view(n, grid, grid, 2).permute(0, 3, 1, 2)


FLOW_RES = 16  # the 5×5 warp is smoothed (bicubic) to this grid, then read bilinearly per pixel


def _sample(src: Tensor, grid: Tensor) -> Tensor:
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)


class Augmenter:
    """Batched augmentation for one side; see the module docstring for what each option does."""

    def __init__(self, input_size: int, output_size: int, warp: bool = True, warp_to_landmarks: bool = False,
                 flip: bool = True, color: bool = True, clahe: bool = False, rotation: float = 10.0,
                 zoom: float = 0.05, shift: float = 0.05, warp_scale: float = 5 / 256, lightness: float = 0.3,
                 ab_shift: float = 8.0, clahe_chance: float = 0.5, eye_multiplier: float = 3.0,
                 mouth_multiplier: float = 2.0):
        self.input_size, self.output_size = int(input_size), int(output_size)
        self.warp, self.warp_to_landmarks = warp, warp_to_landmarks
        self.flip, self.color, self.clahe = flip, color, clahe
        self.rotation, self.zoom, self.shift = rotation, zoom, shift
        self.warp_scale, self.lightness, self.ab_shift = warp_scale, lightness, ab_shift
        self.clahe_chance = clahe_chance
        self.eye_multiplier, self.mouth_multiplier = eye_multiplier, mouth_multiplier

    def __call__(self, images: Tensor, masks: Tensor, landmarks: Tensor, generator: torch.Generator,
                 deform: bool = True) -> Batch:
        """``deform=False`` leaves out the random warp (and the landmark warp) for this batch only."""
        if generator.device.type != "cpu":
            raise ValueError("pass a CPU torch.Generator: random numbers are drawn on the CPU for reproducibility")
        g, n, dev = generator, images.shape[0], images.device
        if self.clahe:
            chosen = torch.rand(n, generator=g) < self.clahe_chance
            images = clahe_u8(images, chosen, torch.randint(2, 5, (n,), generator=g))
        colour = None
        if self.color:
            colour = colour_transform(_uniform(n, self.lightness, g), _uniform(n, self.ab_shift, g),
                                      _uniform(n, self.ab_shift, g))
        x = to_float(images, *(colour or (None, None)))
        theta = affine_theta(_uniform(n, self.rotation, g), 1 + _uniform(n, self.zoom, g),
                             _uniform(n, 2 * self.shift, g), _uniform(n, 2 * self.shift, g),
                             (torch.rand(n, generator=g) < 0.5) if self.flip else torch.zeros(n, dtype=torch.bool))
        flow = None
        if deform and self.warp_to_landmarks and n > 1:
            partner = (torch.arange(n) + torch.randint(1, n, (n,), generator=g)) % n
            flow = landmark_flow(landmarks.to(dev), partner.to(dev), images.shape[-1])
        elif deform and self.warp:
            noise = torch.randn(n, 2, 5, 5, generator=g) * 2 * self.warp_scale
            flow = F.interpolate(noise.to(dev), size=(FLOW_RES, FLOW_RES), mode="bicubic", align_corners=True)
        return self._render(x, masks, landmarks, theta.to(dev), flow)

    def plain(self, images: Tensor, masks: Tensor, landmarks: Tensor) -> Batch:
        """The faces as the model sees them at validation: no randomness at all."""
        n = images.shape[0]
        theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], device=images.device).expand(n, 2, 3)
        return self._render(to_float(images), masks, landmarks, theta, None)

    def _render(self, x: Tensor, masks: Tensor, landmarks: Tensor, theta: Tensor, flow: Tensor | None) -> Batch:
        size, out, inp = x.shape[-1], self.output_size, self.input_size
        weights = region_weights(landmarks.to(x.device), size, self.eye_multiplier, self.mouth_multiplier)
        grid_t = affine_grid(theta, out)
        layers = [x, masks.to(x.device).float() / 255]
        if weights.shape[-1] == size:
            layers.append(weights)
        t = _sample(_at_size(torch.cat(layers, 1), out), grid_t)
        weights = t[:, 4:5] if t.shape[1] == 5 else _sample(weights, grid_t)
        grid = grid_t if inp == out else affine_grid(theta, inp)
        if flow is not None:
            # the displacement lives in source space: look it up where the affine grid lands
            dense = F.grid_sample(flow, grid, mode="bilinear", padding_mode="border", align_corners=True)
            grid = grid + dense.permute(0, 2, 3, 1)
        warped = _sample(_at_size(x, inp), grid)
        return Batch(warped, t[:, :3], t[:, 3:4].clamp(0, 1), weights, theta)


# --- the faceswap-style baseline (bench only) -----------------------------------------------------------

def baseline_augment(image_bgr: np.ndarray, rng: np.random.Generator, input_size: int, output_size: int,
                     rotation: float = 10.0, zoom: float = 0.05, shift: float = 0.05, flip: bool = True,
                     warp: bool = True, color: bool = True, warp_scale: float = 5 / 256) -> tuple[np.ndarray, np.ndarray]:
    """One face the way faceswap does it: OpenCV, per sample. Returns (warped, target) float32 RGB in [0,1].

    Colour: LAB lightness/ab jitter with cv2; affine: ``warpAffine`` with replicated borders; flip;
    warp: a 5×5 grid over the face with Gaussian noise, resized to a dense map and ``remap``-ed.
    """
    size = image_bgr.shape[0]
    img = image_bgr
    if color:
        lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
        k = rng.uniform(-0.3, 0.3)
        lab[..., 0] = lab[..., 0] + (255 - lab[..., 0]) * k if k > 0 else lab[..., 0] * (1 + k)
        lab[..., 1:] += rng.uniform(-8, 8, 2)
        img = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
    m = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-rotation, rotation), rng.uniform(1 - zoom, 1 + zoom))
    m[:, 2] += rng.uniform(-shift, shift, 2) * size
    img = cv2.warpAffine(img, m, (size, size), borderMode=cv2.BORDER_REPLICATE)
    if flip and rng.random() < 0.5:
        img = img[:, ::-1]
    target = cv2.resize(img, (output_size, output_size), interpolation=cv2.INTER_AREA)
    if warp:
        lin = np.linspace(0, size, 5, dtype=np.float32)
        mapx: np.ndarray = np.broadcast_to(lin, (5, 5)) + rng.normal(0, warp_scale * size, (5, 5)).astype(np.float32)
        mapy: np.ndarray = np.broadcast_to(lin[:, None], (5, 5)) + rng.normal(0, warp_scale * size, (5, 5)).astype(np.float32)
        mapx = cv2.resize(mapx, (input_size, input_size), interpolation=cv2.INTER_CUBIC)
        mapy = cv2.resize(mapy, (input_size, input_size), interpolation=cv2.INTER_CUBIC)
        warped = cv2.remap(np.ascontiguousarray(img), mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    else:
        warped = cv2.resize(img, (input_size, input_size), interpolation=cv2.INTER_AREA)
    to_rgb = lambda a: cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2RGB).astype(np.float32) / 255  # noqa: E731
    return to_rgb(warped), to_rgb(target)
