"""The shared building blocks: shapes, layouts, initialisation and gradients, on small real tensors."""
from __future__ import annotations

import pytest
import torch

from twoface.models import blocks as B
from twoface.models.villain import ResidualEntry

CL = torch.channels_last


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=CL)


def test_down_block_halves_and_keeps_channels_last():
    torch.manual_seed(0)
    block = B.DownBlock(3, 8).to(memory_format=CL)
    x = _cl(torch.rand(2, 3, 16, 16))
    y = block(x)
    assert y.shape == (2, 8, 8, 8)
    assert y.is_contiguous(memory_format=CL)
    assert (y < 0).any() and (y > 0).any()          # LeakyReLU, not ReLU: negatives survive
    assert torch.allclose(y, torch.nn.functional.leaky_relu(block.conv(x), 0.1))


def test_separable_and_pool_concat_blocks():
    x = torch.rand(2, 6, 16, 16)
    sep = B.SeparableDownBlock(6, 10)
    y = sep(x)
    assert y.shape == (2, 10, 8, 8) and y.min() >= 0  # ReLU output
    assert sep.depthwise.weight.shape == (6, 1, 5, 5) and sep.depthwise.bias is None
    pc = B.PoolConcatDownBlock(6, 4)
    z = pc(x)
    assert z.shape == (2, 10, 8, 8)
    # the pooled half is the LeakyReLU of a 2×2 average of the input
    assert torch.allclose(z[:, 4:], torch.nn.functional.avg_pool2d(x, 2))


def test_icnr_upscale_starts_as_nearest_neighbour():
    """ICNR: at initialisation the four sub-pixels of each 2×2 output cell are equal (no checkerboard)."""
    torch.manual_seed(0)
    up = B.UpscaleBlock(5, 7)
    y = up(torch.randn(1, 5, 6, 6))
    assert y.shape == (1, 7, 12, 12)
    cell = y.unfold(2, 2, 2).unfold(3, 2, 2)          # 1×7×6×6×2×2
    assert torch.allclose(cell, cell[..., :1, :1].expand_as(cell))
    # a plain He-initialised conv + shuffle would not have that property
    up.conv.reset_parameters()
    y2 = up(torch.randn(1, 5, 6, 6))
    cell2 = y2.unfold(2, 2, 2).unfold(3, 2, 2)
    assert not torch.allclose(cell2, cell2[..., :1, :1].expand_as(cell2))


def test_upscalers_share_a_signature():
    x = _cl(torch.rand(2, 8, 4, 4))
    for name, cls in B.UPSCALERS.items():
        y = cls(8, 6).to(memory_format=CL)(x)
        assert y.shape == (2, 6, 8, 8), name
        assert y.is_contiguous(memory_format=CL), name
    stack = B.up_stack(8, [6, 4, 3], "resizeconv", residual=1)
    assert stack(x).shape == (2, 3, 32, 32)
    assert sum(isinstance(m, B.ResidualBlock) for m in stack) == 3


def test_hybrid_upscale_channels():
    x = torch.rand(1, 8, 4, 4)
    slow = B.HybridUpscaleBlock(8, 6)
    fast = B.HybridUpscaleBlock(8, 6, fast=True)
    assert slow(x).shape == fast(x).shape == (1, 6, 8, 8)
    assert slow.shuffle.conv.out_channels == 3 * 4 and slow.linear.out_channels == 3
    assert fast.shuffle.conv.out_channels == 6 * 4 and fast.linear.out_channels == 6
    assert B.HybridUpscaleBlock(8, 6, scale=3)(x).shape == (1, 6, 12, 12)


def test_residual_block_starts_near_identity():
    torch.manual_seed(0)
    block = B.ResidualBlock(16)
    x = torch.rand(2, 16, 8, 8) + 0.5                 # positive: the outer LeakyReLU is the identity
    y = block(x)
    assert y.shape == x.shape
    rel = (y - x).norm() / x.norm()
    assert 0 < rel < 0.5
    assert B.ResidualBlock(16, bias=False).conv1.bias is None


@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
def test_dense_bottleneck_layout_and_upscale(layout):
    torch.manual_seed(0)
    neck = B.DenseBottleneck(8, 4, 32, 16, 4, upscale_to=6).to(memory_format=layout)
    x = torch.rand(3, 8, 4, 4).contiguous(memory_format=layout)
    y = neck(x)
    assert y.shape == (3, 6, 8, 8)
    assert y.is_contiguous(memory_format=layout)
    assert neck.fc1.in_features == 128 and neck.fc2.out_features == 256


def test_dense_bottleneck_weights_do_not_depend_on_layout():
    """Flattening happens in logical NCHW order, so channels_last inputs give the same answer."""
    torch.manual_seed(0)
    neck = B.DenseBottleneck(8, 4, 32, 16, 4)
    x = torch.rand(2, 8, 4, 4)
    assert torch.allclose(neck(x), neck(_cl(x)), atol=1e-6)


@pytest.mark.parametrize("in_size,steps", [(1, 0), (2, 1), (4, 2), (16, 4)])
def test_conv_bottleneck_reaches_1x1(in_size, steps):
    neck = B.ConvBottleneck(12, in_size, 20, 8, 4, upscale_to=5)
    seen = []
    neck.down.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    y = neck(torch.rand(2, 12, in_size, in_size))
    assert seen[0] == (2, 20, 1, 1)                    # the latent really is 1×1
    assert y.shape == (2, 5, 8, 8)
    convs = [m for m in neck.down.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == max(steps, 1)


@pytest.mark.parametrize("mask", [False, True])
def test_output_head_is_float32_in_unit_range(mask):
    head = B.OutputHead(8, learn_mask=mask).to(memory_format=CL)
    x = _cl(torch.randn(2, 8, 8, 8) * 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = head(x)
    assert y.shape == (2, 4 if mask else 3, 8, 8)
    assert y.dtype == torch.float32
    assert y.min() >= 0 and y.max() <= 1


def test_villain_residual_entry_gradients_flow_in_bf16():
    torch.manual_seed(0)
    entry = ResidualEntry(8, 2).to(memory_format=CL)
    x = _cl(torch.rand(2, 3, 16, 16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = entry(x)
    assert y.shape == (2, 8, 8, 8)
    y.float().square().mean().backward()
    for name, p in entry.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_initialisation_follows_faceswap():
    torch.manual_seed(0)
    c = B.conv(64, 128, 5)
    bound = (6 / (64 * 25)) ** 0.5                      # He uniform
    assert c.weight.abs().max() <= bound and c.weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(c.bias) == 0
    d = B.dense(100, 50)
    assert d.weight.abs().max() <= (6 / 150) ** 0.5 and torch.count_nonzero(d.bias) == 0
