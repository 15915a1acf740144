"""Image losses for face-swap training, and the weighted sum the trainer optimises.

Every loss is a function ``loss(pred, target, weights=None) -> scalar tensor`` on
``N×C×H×W`` images in ``[0, 1]`` where 0 means identical. ``weights`` is an
optional ``N×1×H×W`` per-pixel importance map (mask penalty × eye/mouth
multipliers): pixel losses (mae, mse, lpl) take a weighted mean, SSIM-family
losses a weighted mean of their local maps, and the global ones (gmsd: a
weighted deviation; ffl: images premultiplied by the normalised weights).

Why every loss runs in float32 with autocast switched off: the loss is a tiny
share of a training step, while SSIM's variance terms (E[x²] − E[x]²) and the
FFT lose all precision in bf16. The model may run under bf16 autocast; its
output is cast up here, and gradients flow back through the cast.

``build_loss("ssim:1,mse:1", mask_penalty=0.1)`` returns a :class:`LossSum`
module. Its ``forward(pred, target, mask=None, weights=None)`` returns
``(total, parts)``; ``parts`` maps each name to a *detached* scalar tensor (call
``.item()`` only when logging, to avoid a sync per step). When ``pred`` has one
channel more than ``target`` the extra channel is the model's learned mask: it is
trained against ``mask`` with :func:`mask_loss` and reported as part ``"mask"``.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TwofaceError

Tensor = torch.Tensor
LossFn = Callable[..., Tensor]

# MS-SSIM scale weights from Wang, Simoncelli & Bovik (2003); truncated and renormalised for small faces.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


def float32(fn: LossFn) -> LossFn:
    """Run a loss in float32 with autocast off, whatever the caller's autocast state."""

    @functools.wraps(fn)
    def wrapper(pred: Tensor, target: Tensor, weights: Tensor | None = None, **kw) -> Tensor:
        with torch.autocast(device_type=pred.device.type, enabled=False):
            w = None if weights is None else weights.float()
            return fn(pred.float(), target.float(), w, **kw)

    return wrapper


def weighted_mean(values: Tensor, weights: Tensor | None) -> Tensor:
    """Mean of ``values`` (N×C×H×W) with ``weights`` (N×1×H×W) broadcast over channels."""
    if weights is None:
        return values.mean()
    w = weights.expand_as(values)
    return (values * w).sum() / w.sum().clamp_min(1e-8)


def _gaussian_window(size: int, sigma: float, channels: int, device, dtype=torch.float32) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def _filter(x: Tensor, window: Tensor) -> Tensor:
    """Depthwise 'valid' Gaussian filter (as in the SSIM paper: no padding artefacts at the border)."""
    return F.conv2d(x, window, groups=x.shape[1])


def ssim_maps(pred: Tensor, target: Tensor, window_size: int = 11, sigma: float = 1.5) -> tuple[Tensor, Tensor]:
    """Local SSIM and contrast-structure maps (N×C×h×w, 'valid' size). Call in float32."""
    c = pred.shape[1]
    window_size = min(window_size, pred.shape[-1], pred.shape[-2])
    win = _gaussian_window(window_size, sigma, c, pred.device)
    mu_p, mu_t = _filter(pred, win), _filter(target, win)
    var_p = _filter(pred * pred, win) - mu_p ** 2
    var_t = _filter(target * target, win) - mu_t ** 2
    cov = _filter(pred * target, win) - mu_p * mu_t
    cs = (2 * cov + SSIM_C2) / (var_p + var_t + SSIM_C2)
    lum = (2 * mu_p * mu_t + SSIM_C1) / (mu_p ** 2 + mu_t ** 2 + SSIM_C1)
    return lum * cs, cs


def _window_weights(weights: Tensor | None, window_size: int, sigma: float, like: Tensor) -> Tensor | None:
    """The weight map filtered like the SSIM statistics, so it lines up with the 'valid' maps."""
    if weights is None:
        return None
    window_size = min(window_size, like.shape[-1], like.shape[-2])
    return _filter(weights, _gaussian_window(window_size, sigma, 1, weights.device))


@float32
def ssim(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """1 − SSIM (11×11 Gaussian window, σ 1.5), averaged over the weighted local map."""
    s, _ = ssim_maps(pred, target)
    return 1 - weighted_mean(s, _window_weights(weights, 11, 1.5, pred))


def ms_ssim_scales(size: int, window_size: int = 11) -> int:
    """How many scales fit: the smallest one must still hold a full window (3 at 64 px, 4 at 128 px)."""
    scales = 1
    while scales < len(MS_SSIM_WEIGHTS) and size // (2 ** scales) >= window_size:
        scales += 1
    return scales


@float32
def ms_ssim(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """1 − multi-scale SSIM, with as many scales as the image size allows (see :func:`ms_ssim_scales`)."""
    scales = ms_ssim_scales(min(pred.shape[-2:]))
    betas = torch.tensor(MS_SSIM_WEIGHTS[:scales], device=pred.device)
    betas = betas / betas.sum()
    values = []
    for i in range(scales):
        s, cs = ssim_maps(pred, target)
        w = _window_weights(weights, 11, 1.5, pred)
        m = s if i == scales - 1 else cs
        # per-image weighted means; relu keeps the fractional power defined
        if w is None:
            v = m.mean(dim=(1, 2, 3))
        else:
            wv = w.expand_as(m)
            v = (m * wv).sum(dim=(1, 2, 3)) / wv.sum(dim=(1, 2, 3)).clamp_min(1e-8)
        values.append(v.clamp_min(1e-6))
        if i < scales - 1:
            pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
            weights = None if weights is None else F.avg_pool2d(weights, 2)
    stacked = torch.stack(values, dim=1)  # N×scales
    return 1 - torch.prod(stacked ** betas, dim=1).mean()


@float32
def mae(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """Mean absolute error (L1)."""
    return weighted_mean((pred - target).abs(), weights)


@float32
def mse(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """Mean squared error (L2)."""
    return weighted_mean((pred - target) ** 2, weights)


def _luma(x: Tensor) -> Tensor:
    if x.shape[1] == 1:
        return x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


@float32
def gmsd(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """Gradient magnitude similarity deviation (Xue et al. 2014) on luma, at half resolution as in the paper."""
    p, t = F.avg_pool2d(_luma(pred), 2), F.avg_pool2d(_luma(target), 2)
    kx = torch.tensor([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]], device=p.device) / 3
    kernels = torch.stack([kx, kx.t()])[:, None]  # Prewitt x and y

    def magnitude(img: Tensor) -> Tensor:
        g = F.conv2d(img, kernels)
        return torch.sqrt(g.pow(2).sum(1, keepdim=True) + 1e-12)

    c = 0.0026  # the paper's 170 for 0..255 images, rescaled to 0..1
    mp, mt = magnitude(p), magnitude(t)
    gms = (2 * mp * mt + c) / (mp ** 2 + mt ** 2 + c)
    if weights is None:
        w = torch.ones_like(gms)
    else:
        w = F.avg_pool2d(weights, 2)[..., 1:-1, 1:-1]
    wsum = w.sum(dim=(1, 2, 3)).clamp_min(1e-8)
    mean = (gms * w).sum(dim=(1, 2, 3)) / wsum
    var = ((gms - mean[:, None, None, None]) ** 2 * w).sum(dim=(1, 2, 3)) / wsum
    return torch.sqrt(var + 1e-10).mean()


def _pyramid_down(x: Tensor) -> Tensor:
    k = torch.tensor([1.0, 4, 6, 4, 1], device=x.device) / 16
    win = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), win, groups=x.shape[1])[..., ::2, ::2]


@float32
def lpl(pred: Tensor, target: Tensor, weights: Tensor | None = None, min_size: int = 8) -> Tensor:
    """Laplacian pyramid L1 loss (Bojanowski et al. 2018): equal weight per band, down to ``min_size`` px."""
    diff = pred - target  # the pyramid is linear, so build it once on the difference
    losses = []
    while min(diff.shape[-2:]) >= 2 * min_size:
        down = _pyramid_down(diff)
        up = F.interpolate(down, size=diff.shape[-2:], mode="bilinear", align_corners=False)
        losses.append(weighted_mean((diff - up).abs(), weights))
        diff = down
        weights = None if weights is None else F.avg_pool2d(weights, 2, ceil_mode=True)
    losses.append(weighted_mean(diff.abs(), weights))
    return torch.stack(losses).mean()


@float32
def ffl(pred: Tensor, target: Tensor, weights: Tensor | None = None, alpha: float = 1.0) -> Tensor:
    """Focal frequency loss (Jiang et al. 2021): spectrum distance, weighted towards the hard frequencies."""
    if weights is not None:
        scale = weights / weights.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)
        pred, target = pred * scale, target * scale
    fp = torch.fft.fft2(pred, norm="ortho")
    ft = torch.fft.fft2(target, norm="ortho")
    dist = (fp - ft).abs() ** 2
    with torch.no_grad():
        focus = dist.sqrt() ** alpha
        focus = focus / focus.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
        focus = focus.nan_to_num(0.0).clamp(0, 1)
    return (focus * dist).mean()


@float32
def mask_mse(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    return weighted_mean((pred - target) ** 2, weights)


@float32
def mask_bce(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    p = pred.clamp(1e-6, 1 - 1e-6)
    return weighted_mean(-(target * torch.log(p) + (1 - target) * torch.log1p(-p)), weights)


LOSSES: dict[str, LossFn] = {
    "ssim": ssim, "ms_ssim": ms_ssim, "mae": mae, "l1": mae, "mse": mse, "l2": mse,
    "gmsd": gmsd, "lpl": lpl, "ffl": ffl,
}
MASK_LOSSES: dict[str, LossFn] = {"mse": mask_mse, "bce": mask_bce}


def mask_loss(pred_mask: Tensor, target_mask: Tensor, kind: str = "mse") -> Tensor:
    """Loss of a learned mask channel (N×1×H×W in [0,1]) against the landmark mask."""
    if kind not in MASK_LOSSES:
        raise TwofaceError(f"unknown mask loss {kind!r}; choose one of {', '.join(MASK_LOSSES)}")
    return MASK_LOSSES[kind](pred_mask, target_mask)


def parse_loss_spec(spec: str) -> list[tuple[str, float]]:
    """``"ssim:1,mse:0.5"`` -> ``[("ssim", 1.0), ("mse", 0.5)]``; a bare name has weight 1."""
    terms: list[tuple[str, float]] = []
    for part in (p.strip() for p in spec.replace("+", ",").split(",")):
        if not part:
            continue
        name, _, weight_text = part.partition(":")
        name = name.strip().lower().replace("-", "_")
        if name not in LOSSES:
            raise TwofaceError(f"unknown loss {name!r} in {spec!r}; choose from {', '.join(sorted(LOSSES))}")
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            raise TwofaceError(f"loss weight {weight_text!r} in {spec!r} is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise TwofaceError(f"loss weight for {name} in {spec!r} must be a finite number >= 0")
        terms.append((name, weight))
    if not terms or all(w == 0 for _, w in terms):
        raise TwofaceError(f"loss spec {spec!r} has no term with a positive weight (example: ssim:1,mse:1)")
    return terms


class LossSum(nn.Module):
    """A weighted sum of image losses, with the penalised-mask weighting and a learned-mask term.

    ``mask_penalty``: weight of pixels outside the face mask (faceswap's "penalized mask
    loss" uses 0, which leaves the background unlearned; a small value keeps it sane in previews).
    """

    def __init__(self, terms: list[tuple[str, float]], mask_penalty: float = 0.1,
                 mask_weight: float = 1.0, mask_kind: str = "mse"):
        super().__init__()
        if not 0 <= mask_penalty <= 1:
            raise TwofaceError(f"mask penalty must be between 0 and 1, got {mask_penalty}")
        self.terms = list(terms)
        self.mask_penalty = float(mask_penalty)
        self.mask_weight = float(mask_weight)
        self.mask_kind = mask_kind

    @property
    def spec(self) -> str:
        return ",".join(f"{n}:{w:g}" for n, w in self.terms)

    def pixel_weights(self, mask: Tensor | None, weights: Tensor | None) -> Tensor | None:
        """Combine the face mask (inside 1, outside ``mask_penalty``) with region multipliers."""
        if mask is None:
            return None if weights is None else weights.float()
        w = self.mask_penalty + (1 - self.mask_penalty) * mask.float()
        return w if weights is None else w * weights.float()

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None,
                weights: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        learned = None
        if pred.shape[1] == target.shape[1] + 1:
            pred, learned = pred[:, :-1], pred[:, -1:]
        elif pred.shape[1] != target.shape[1]:
            raise ValueError(f"prediction has {pred.shape[1]} channels, target {target.shape[1]}")
        w = self.pixel_weights(mask, weights)
        parts: dict[str, Tensor] = {}
        total = pred.new_zeros((), dtype=torch.float32)
        for name, weight in self.terms:
            value = LOSSES[name](pred, target, w)
            parts[name] = value.detach()
            total = total + weight * value
        if learned is not None:
            if mask is None:
                raise ValueError("the model outputs a mask channel, but no target mask was given")
            value = mask_loss(learned, mask, self.mask_kind)
            parts["mask"] = value.detach()
            total = total + self.mask_weight * value
        return total, parts


def build_loss(spec: str = "ssim:1,mse:1", mask_penalty: float = 0.1, mask_weight: float = 1.0,
               mask_kind: str = "mse") -> LossSum:
    """Parse a weighted loss spec (names: ssim, ms_ssim, mae/l1, mse/l2, gmsd, lpl, ffl)."""
    return LossSum(parse_loss_spec(spec), mask_penalty, mask_weight, mask_kind)
