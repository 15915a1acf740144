"""The building blocks every swap model is assembled from.

Why one file: faceswap's models differ in widths and in the order of a handful
of blocks (a stride-2 conv, a pixel-shuffle upscale, a residual block, a
Dense bottleneck, an output head). Writing each block once keeps the model
files short enough to read like the paper figure, and a fix here reaches them all.

Performance notes (measured on the AVX512-BF16 CPU, bf16 autocast, channels_last):
plain convolutions, LeakyReLU and PixelShuffle keep the channels_last layout and
run in bf16; activations run in place on fresh conv outputs to save memory; the
Dense bottleneck flattens in NCHW order (so weights do not depend on the memory
layout) and hands channels_last back to the next conv. The output head applies
its sigmoid in float32 so losses never see bf16 rounding of the image.

Initialisation follows faceswap: He-uniform convolutions, Glorot-uniform Dense
layers, zero biases, ICNR for convolutions feeding a PixelShuffle (every
sub-pixel starts as a copy of the same kernel, so there is no checkerboard at
step 0), and a small scale for the last conv of a residual branch.
"""
from __future__ import annotations

import math
from typing import Any, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

LEAK = 0.1          # faceswap's LeakyReLU slope for conv and upscale blocks
RESIDUAL_LEAK = 0.2  # dfaker's slope inside and around residual blocks


# ---------------------------------------------------------------- initialisation
def he_uniform_(weight: torch.Tensor) -> None:
    """Keras' he_uniform: U(-sqrt(6/fan_in), +sqrt(6/fan_in))."""
    nn.init.kaiming_uniform_(weight, a=0.0, mode="fan_in", nonlinearity="relu")


def icnr_(weight: torch.Tensor, scale: int) -> None:
    """ICNR (Aitken et al. 2017): one He-uniform sub-kernel repeated for each sub-pixel.

    PixelShuffle sends input channel ``c * scale**2 + k`` to output channel ``c``,
    sub-pixel ``k``, so repeating each sub-kernel ``scale**2`` times along the
    output axis makes the shuffled result equal to a nearest-neighbour upscale.
    """
    out = weight.shape[0]
    sub = torch.empty((out // (scale * scale), *weight.shape[1:]), device=weight.device, dtype=weight.dtype)
    he_uniform_(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(scale * scale, dim=0))


_M = TypeVar("_M", bound=nn.Module)


def _uninitialised(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
    """Allocate a layer without torch's default init, which we overwrite anyway (it doubled build time).

    Honours ``with torch.device("meta"):`` so shape-only builds stay free.
    """
    return cast(_M, nn.utils.skip_init(cls, *args, device=torch.get_default_device(), **kwargs))


def conv(cin: int, cout: int, kernel: int, stride: int = 1, *, bias: bool = True,
         groups: int = 1) -> nn.Conv2d:
    """A 'same'-padded convolution with He-uniform weights and zero bias."""
    layer = _uninitialised(nn.Conv2d, cin, cout, kernel, stride, padding=kernel // 2, bias=bias, groups=groups)
    he_uniform_(layer.weight)
    if layer.bias is not None:  # made when bias=True
        nn.init.zeros_(layer.bias)
    return layer


def dense(cin: int, cout: int) -> nn.Linear:
    """A fully connected layer with Keras' Dense defaults (Glorot-uniform, zero bias)."""
    layer = _uninitialised(nn.Linear, cin, cout)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def act(slope: float | None) -> nn.Module:
    """LeakyReLU in place (only ever applied to a fresh conv output), or nothing."""
    return nn.Identity() if slope is None else nn.LeakyReLU(slope, inplace=True)


def like(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Give ``y`` the channels_last layout when ``x`` had it (after a reshape lost it)."""
    if x.dim() == 4 and y.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
            and not x.is_contiguous():
        return y.contiguous(memory_format=torch.channels_last)
    return y


# ---------------------------------------------------------------- down blocks
class DownBlock(nn.Module):
    """Stride-2 convolution (5×5 by default) then LeakyReLU: halves the size."""

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 2,
                 slope: float | None = LEAK):
        super().__init__()
        self.conv = conv(cin, cout, kernel, stride)
        self.act = act(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class SeparableDownBlock(nn.Module):
    """Depthwise-separable stride-2 convolution then ReLU (villain's cheap wide layers)."""

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 2):
        super().__init__()
        self.depthwise = conv(cin, cin, kernel, stride, bias=False, groups=cin)
        self.pointwise = conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.pointwise(self.depthwise(x)), inplace=True)


class PoolConcatDownBlock(nn.Module):
    """A stride-2 conv beside a 2×2 average pool, concatenated (dlight's encoder).

    The pooled path carries the input's colours and lighting forward untouched,
    so the conv only has to learn detail. Output channels: ``cout + cin``.
    """

    def __init__(self, cin: int, cout: int, slope: float = LEAK):
        super().__init__()
        self.down = DownBlock(cin, cout, slope=slope)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.leaky_relu(F.avg_pool2d(x, 2), self.slope)
        return torch.cat([self.down(x), pooled], dim=1)


def down_stack(cin: int, widths: list[int] | tuple[int, ...], kernel: int = 5,
               slope: float | None = LEAK) -> nn.Sequential:
    """Consecutive DownBlocks of the given widths (each halves the size)."""
    layers, prev = [], cin
    for width in widths:
        layers.append(DownBlock(prev, width, kernel, slope=slope))
        prev = width
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- up blocks
class UpscaleBlock(nn.Module):
    """faceswap's UpscaleBlock: conv to ``cout * scale²`` channels, LeakyReLU, PixelShuffle.

    The activation runs before the shuffle (in place on the conv output); it is
    element-wise, so this equals conv → PixelShuffle → LeakyReLU.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, scale: int = 2,
                 slope: float | None = LEAK):
        super().__init__()
        self.conv = conv(cin, cout * scale * scale, kernel)
        icnr_(self.conv.weight, scale)
        self.act = act(slope)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


class ResizeConvBlock(nn.Module):
    """Nearest-neighbour resize then conv (Odena et al. 2016): no checkerboard by design."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, scale: int = 2,
                 slope: float | None = LEAK):
        super().__init__()
        self.scale = scale
        self.conv = conv(cin, cout, kernel)
        self.act = act(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.act(self.conv(x))


class HybridUpscaleBlock(nn.Module):
    """dlight's "upscale2x": a pixel-shuffle path for detail plus a bilinear path for lighting.

    ``fast=False`` concatenates the two paths (half the channels each);
    ``fast=True`` gives both paths all the channels and adds them.
    """

    def __init__(self, cin: int, cout: int, scale: int = 2, fast: bool = False,
                 slope: float | None = LEAK):
        super().__init__()
        self.fast = fast
        self.scale = scale
        shuffle_ch = cout if fast else cout // 2
        linear_ch = cout if fast else cout - shuffle_ch
        self.shuffle = UpscaleBlock(cin, shuffle_ch, scale=scale, slope=slope)
        self.linear = conv(cin, linear_ch, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smooth = F.interpolate(self.linear(x), scale_factor=self.scale, mode="bilinear",
                               align_corners=False)
        detail = self.shuffle(x)
        return detail + smooth if self.fast else torch.cat([detail, smooth], dim=1)


UPSCALERS = {"pixelshuffle": UpscaleBlock, "resizeconv": ResizeConvBlock}


def up_stack(cin: int, widths: list[int] | tuple[int, ...], upscaler: str = "pixelshuffle",
             slope: float | None = LEAK, residual: int = 0) -> nn.Sequential:
    """Consecutive ×2 upscales of the given widths, each optionally followed by residual blocks."""
    block = UPSCALERS[upscaler]
    layers, prev = [], cin
    for width in widths:
        layers.append(block(prev, width, slope=slope))
        layers.extend(ResidualBlock(width) for _ in range(residual))
        prev = width
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- other blocks
class ResidualBlock(nn.Module):
    """dfaker's residual block: conv, LeakyReLU(0.2), conv, add the input, LeakyReLU(0.2).

    The second conv starts small (variance scale 0.2) so a deep chain of these
    begins close to the identity.
    """

    def __init__(self, ch: int, kernel: int = 3, slope: float = RESIDUAL_LEAK, bias: bool = True):
        super().__init__()
        self.conv1 = conv(ch, ch, kernel, bias=bias)
        self.act = act(slope)
        self.conv2 = conv(ch, ch, kernel, bias=bias)
        fan_in = ch * kernel * kernel
        nn.init.uniform_(self.conv2.weight, -math.sqrt(0.6 / fan_in), math.sqrt(0.6 / fan_in))
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.conv1(x))) + x
        return F.leaky_relu(y, self.slope, inplace=True)


class DenseBottleneck(nn.Module):
    """Flatten → Dense(units) → Dense(out_size² · out_ch) → reshape, then an optional upscale.

    This is the "original" model's bottleneck: a ``in_size² · in_ch`` feature map
    squeezed into ``units`` numbers, then spread back out to a small grid.
    """

    def __init__(self, in_ch: int, in_size: int, units: int, out_ch: int, out_size: int = 4,
                 upscale_to: int | None = None, slope: float | None = LEAK, dropout: float = 0.0):
        super().__init__()
        self.out_ch, self.out_size = out_ch, out_size
        self.fc1 = dense(in_ch * in_size * in_size, units)
        self.fc2 = dense(units, out_size * out_size * out_ch)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.upscale = UpscaleBlock(out_ch, upscale_to, slope=slope) if upscale_to else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.drop(self.fc2(self.drop(self.fc1(x.flatten(1)))))
        z = like(z.view(-1, self.out_ch, self.out_size, self.out_size), x)
        return self.upscale(z)


class ConvBottleneck(nn.Module):
    """A Dense-free bottleneck: stride-2 3×3 convs down to a 1×1 latent, then back to a grid.

    The way back is a 1×1 conv to ``out_size² · out_ch`` channels and a
    PixelShuffle, which is the same maths as Dense→reshape. The way down costs
    ``9·C²`` weights per halving instead of Dense's ``in_size²·C·units``, which
    is what makes large inputs affordable.
    """

    def __init__(self, in_ch: int, in_size: int, latent: int, out_ch: int, out_size: int = 4,
                 upscale_to: int | None = None, slope: float | None = LEAK):
        super().__init__()
        steps = int(math.log2(in_size))
        if steps == 0:
            down: list[nn.Module] = [conv(in_ch, latent, 1)]
        else:
            down = [DownBlock(in_ch, in_ch, kernel=3, slope=slope) for _ in range(steps - 1)]
            down.append(conv(in_ch, latent, 3, 2))   # linear, like the first Dense
        self.down = nn.Sequential(*down)
        self.expand = conv(latent, out_ch * out_size * out_size, 1)
        self.shuffle = nn.PixelShuffle(out_size)
        self.upscale = UpscaleBlock(out_ch, upscale_to, slope=slope) if upscale_to else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upscale(self.shuffle(self.expand(self.down(x))))


class OutputHead(nn.Module):
    """The last conv (5×5) and a float32 sigmoid: RGB in [0, 1], plus a mask channel if learned."""

    def __init__(self, cin: int, learn_mask: bool = False, kernel: int = 5):
        super().__init__()
        self.conv = conv(cin, 4 if learn_mask else 3, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x).float())
