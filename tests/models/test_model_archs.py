"""Each architecture: its shapes, its exact parameter counts, and a real bf16 training step.

Parameter counts are recomputed here by hand from the layer list in each
model's docstring (conv = cin·cout·k² + cout, Dense = cin·cout + cout, an
upscale to c channels is a 3×3 conv to 4c), independently of the model code.
Shapes and counts use the meta device (no memory, no init time); the real
forward/backward runs at batch 1 under bf16 autocast with channels_last.
"""
from __future__ import annotations

import pytest
import torch

from twoface.models import build
from twoface.models.realface import decoder_grid


# ---------------------------------------------------------------- hand arithmetic
def conv(cin, cout, k=3, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def dense(cin, cout):
    return cin * cout + cout


def up(cin, cout, scale=2):
    return conv(cin, cout * scale * scale, 3)


def res(ch, bias=True):
    return 2 * conv(ch, ch, 3, bias)


def head(cin, mask=False):
    return conv(cin, 4 if mask else 3, 5)


def sep(cin, cout):
    return cin * 25 + conv(cin, cout, 1)


def hybrid(cin, cout, scale=2, fast=False):
    half = cout if fast else cout // 2
    return up(cin, half, scale) + conv(cin, cout - half if not fast else cout, 3)


def convs5(widths, cin=3):
    total = 0
    for w in widths:
        total, cin = total + conv(cin, w, 5), w
    return total


ORIGINAL_ENCODER = convs5([128, 256, 512, 1024]) + dense(4 * 4 * 1024, 1024) + dense(1024, 4 * 4 * 1024) \
    + up(1024, 512)
ORIGINAL_DECODER = up(512, 256) + up(256, 128) + up(128, 64) + head(64)


def realface_counts(c=128, d=512, nodes=1536, size_in=64, size_out=128):
    grid, ups = decoder_grid(size_in, size_out)
    f = (1024 - (grid - 4) * 64) // 16 * 16
    enc = conv(3, c, 5) + 2 * res(c) + conv(c, 2 * c, 5) + 2 * res(2 * c) + conv(2 * c, 4 * c, 5) \
        + 2 * res(4 * c) + conv(4 * c, 8 * c, 5)
    flat = 8 * c * (size_in // 16) ** 2
    dec_b = dense(flat, nodes) + dense(nodes, grid * grid * f) + up(f, f) + res(f, False)
    prev = f
    for i in range(ups - 2):
        dec_b += up(prev, d >> i) + res(d >> i, False) + res(d >> i)
        prev = d >> i
    dec_b += up(prev, d >> (ups - 2)) + head(d >> (ups - 2))
    fa, da = int(f / 1.5), int(d / 1.5)
    dec_a = dense(flat, int(nodes / 1.5)) + dense(int(nodes / 1.5), grid * grid * fa) + up(fa, fa) + res(fa, False)
    prev = fa
    for i in range(ups - 1):
        dec_a += up(prev, da >> i)
        prev = da >> i
    dec_a += head(prev)
    return enc, dec_a, dec_b


def dlight_counts(features="best", details="good", out=256):
    e = 48 if features == "lowmem" else 64
    enc, ch = 0, 3
    for w in (e // 2, e, 2 * e, 4 * e, 8 * e):
        enc, ch = enc + conv(ch, w, 5), ch + w
    nodes = {"lowmem": 640, "fair": 1152, "best": 1664}[features]
    enc += dense(ch * 16, nodes) + dense(nodes, 16 * 1024)
    r = out // 64
    dec_a = hybrid(1024, 256) + hybrid(256, 128) + hybrid(128, 64) + hybrid(64, 32) + head(32)
    if details == "good":
        dec_b = hybrid(1024, 512, r) + res(512) + 2 * res(512, False) + hybrid(512, 512) + res(512) \
            + res(512, False) + 2 * 512 + hybrid(512, 256) + res(256) + hybrid(256, 128) + res(128, False) \
            + 2 * 128 + hybrid(128, 64) + head(64)
    else:
        dec_b = up(1024, 512, r) + hybrid(512, 512, fast=True) + hybrid(512, 256, fast=True) \
            + hybrid(256, 128, fast=True) + hybrid(128, 64, fast=True) + head(64)
    return enc, dec_a, dec_b


# (arch, options, input, output, {part: count})
CASES = [
    ("original", {}, 64, 64, {"encoder": ORIGINAL_ENCODER, "decoder_a": ORIGINAL_DECODER,
                              "decoder_b": ORIGINAL_DECODER}),
    ("original", {"lowmem": True}, 64, 64, {
        "encoder": convs5([128, 256, 512]) + dense(8 * 8 * 512, 512) + dense(512, 16 * 1024) + up(1024, 512),
        "decoder_a": ORIGINAL_DECODER, "decoder_b": ORIGINAL_DECODER}),
    ("lightweight", {}, 64, 64, {
        "encoder": convs5([128, 256, 512]) + dense(8 * 8 * 512, 512) + dense(512, 16 * 512) + up(512, 256),
        "decoder_a": up(256, 512) + up(512, 256) + up(256, 128) + head(128),
        "decoder_b": up(256, 512) + up(512, 256) + up(256, 128) + head(128)}),
    ("iae", {}, 64, 64, {
        "encoder": convs5([128, 256, 512, 1024]),
        "inter_a": dense(16384, 1024) + dense(1024, 16 * 512),
        "inter_b": dense(16384, 1024) + dense(1024, 16 * 512),
        "inter_both": dense(16384, 1024) + dense(1024, 16 * 512),
        "decoder": up(1024, 512) + up(512, 256) + up(256, 128) + up(128, 64) + head(64)}),
    ("dfaker", {}, 64, 128, {
        "encoder": ORIGINAL_ENCODER,
        "decoder_a": up(512, 512) + res(512) + up(512, 256) + res(256) + up(256, 128) + res(128) + up(128, 64)
        + head(64),
        "decoder_b": up(512, 512) + res(512) + up(512, 256) + res(256) + up(256, 128) + res(128) + up(128, 64)
        + head(64)}),
    ("dfaker", {"output_size": 256}, 128, 256, {
        "encoder": convs5([128, 256, 512, 1024]) + dense(8 * 8 * 1024, 1024) + dense(1024, 16 * 1024)
        + up(1024, 512),
        "decoder_a": up(512, 1024) + res(1024) + up(1024, 512) + res(512) + up(512, 256) + res(256) + up(256, 128)
        + res(128) + up(128, 64) + head(64)}),
    ("villain", {}, 128, 128, {
        "encoder": conv(3, 128, 5) + 16 * res(128) + conv(128, 128, 5) + 2 * conv(32, 128, 5) + sep(128, 256)
        + conv(256, 512, 5) + sep(512, 1024) + dense(16384, 1024) + dense(1024, 8 * 8 * 1024) + up(1024, 512),
        "decoder_a": up(512, 512) + res(512) + up(512, 256) + res(256) + up(256, 128) + res(128) + head(128)}),
    ("villain", {"lowmem": True}, 128, 128, {
        "encoder": conv(3, 128, 5) + 8 * res(128) + conv(128, 128, 5) + 2 * conv(32, 128, 5) + sep(128, 256)
        + conv(256, 512, 5) + dense(8 * 8 * 512, 512) + dense(512, 8 * 8 * 1024) + up(1024, 512)}),
    ("realface", {}, 64, 128, dict(zip(("encoder", "decoder_a", "decoder_b"), realface_counts()))),
    ("realface", {"input_size": 128, "output_size": 256}, 128, 256,
     dict(zip(("encoder", "decoder_a", "decoder_b"), realface_counts(size_in=128, size_out=256)))),
    ("realface", {"input_size": 80, "output_size": 96, "complexity_encoder": 32, "complexity_decoder": 64,
                  "dense_nodes": 256}, 80, 96,
     dict(zip(("encoder", "decoder_a", "decoder_b"), realface_counts(32, 64, 256, 80, 96)))),
    ("dlight", {}, 128, 256, dict(zip(("encoder", "decoder_a", "decoder_b"), dlight_counts()))),
    ("dlight", {"features": "lowmem", "details": "fast", "output_size": 128}, 128, 128,
     dict(zip(("encoder", "decoder_a", "decoder_b"), dlight_counts("lowmem", "fast", 128)))),
    ("dlight", {"features": "fair", "output_size": 384}, 128, 384,
     dict(zip(("encoder", "decoder_a", "decoder_b"), dlight_counts("fair", "good", 384)))),
    ("custom", {}, 128, 128, {
        "encoder": convs5([64, 128, 256, 512, 1024]) + dense(16384, 1024) + dense(1024, 16 * 1024) + up(1024, 512),
        "decoder_a": up(512, 256) + up(256, 128) + up(128, 64) + up(64, 32) + head(32)}),
    ("custom", {"input_size": 256, "output_size": 512, "encoder_width": 32, "max_width": 256, "encoder_depth": 4,
                "bottleneck": "conv", "latent": 512, "decoder_width": 256, "upscaler": "resizeconv"}, 256, 512, {
        # 16×16×256 → three 3×3/2 convs → 3×3/2 conv to 1×1×512 → 1×1 conv to 4·4·512 → resize-conv 256
        "encoder": convs5([32, 64, 128, 256]) + 3 * conv(256, 256) + conv(256, 512) + conv(512, 16 * 512, 1)
        + conv(512, 256),
        "decoder_b": conv(256, 128) + conv(128, 64) + conv(64, 32) + 3 * conv(32, 32) + head(32)}),
    ("custom", {"input_size": 64, "output_size": 256, "encoder_width": 16, "max_width": 64, "latent": 128,
                "decoder_width": 64, "learn_mask": True}, 64, 256, {
        "encoder": convs5([16, 32, 64, 64]) + dense(4 * 4 * 64, 128) + dense(128, 16 * 128) + up(128, 64),
        "decoder_a": up(64, 32) + 4 * up(32, 32) + head(32, mask=True)}),
]


# cpu: 3×3 convs after the first, residual blocks at 16 and 8 px, a 4×4×256 code (through Dense 512 by
# default, dense4; convolutional with conv4); original's decoder
CPU_DOWN = conv(64, 128) + res(128) + conv(128, 256) + res(256)
CPU_ENCODER = conv(3, 64, 5) + CPU_DOWN + conv(256, 256) + dense(4096, 512) + dense(512, 4096) + up(256, 512)
CASES += [
    ("cpu", {}, 64, 64, {"encoder": CPU_ENCODER, "decoder_a": ORIGINAL_DECODER, "decoder_b": ORIGINAL_DECODER}),
    ("cpu", {"bottleneck": "conv4"}, 64, 64, {
        "encoder": conv(3, 64, 5) + CPU_DOWN + conv(256, 256) + up(256, 512), "decoder_a": ORIGINAL_DECODER}),
    ("cpu", {"bottleneck": "conv8"}, 64, 64, {
        "encoder": conv(3, 64, 5) + CPU_DOWN + conv(256, 128, 1) + conv(128, 512),
        "decoder_a": ORIGINAL_DECODER}),
    ("cpu", {"size": 128, "bottleneck": "dense4", "decoder_residual": True, "learn_mask": True}, 128, 128, {
        "encoder": conv(3, 32, 5) + conv(32, 64) + CPU_DOWN + conv(256, 256) + dense(4096, 512) + dense(512, 4096)
        + up(256, 512),
        "decoder_b": up(512, 256) + res(256) + up(256, 128) + up(128, 64) + up(64, 32) + head(32, mask=True)}),
]


def _meta(arch, options):
    with torch.device("meta"):
        return build(arch, **options)


def _id(case):
    arch, options = case[0], case[1]
    return arch + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_sizes_shapes_and_parameter_counts(case):
    arch, options, size_in, size_out, counts = case
    model = _meta(arch, options)
    assert (model.input_size, model.output_size) == (size_in, size_out)
    parts = {name: sum(p.numel() for p in part.parameters()) for name, part in model.parts.items()}
    for name, expected in counts.items():
        assert parts[name] == expected, (name, parts[name], expected)
    channels = 4 if options.get("learn_mask") else 3
    x = torch.empty(2, 3, size_in, size_in, device="meta")
    for side in "ab":
        assert model(x, side).shape == (2, channels, size_out, size_out)


def test_original_is_the_82m_network():
    """DESIGN: "the same 82 M-parameter network". Counting the encoder and both decoders:
    convs 0.01 + 0.82 + 3.28 + 13.11 M, Dense 16.78 + 16.79 M, upscale 18.88 M = 69.66 M,
    plus 2 × 6.20 M of decoder = 82.06 M (Keras counts the same weights and biases)."""
    total = ORIGINAL_ENCODER + 2 * ORIGINAL_DECODER
    assert total == 82_062_470
    model = _meta("original", {})
    assert sum(p.numel() for p in model.parameters()) == total
    assert abs(total - 82e6) / 82e6 < 0.01


def test_learn_mask_costs_one_output_channel_per_head():
    for arch in ("original", "iae", "dlight", "cpu"):
        plain = sum(p.numel() for p in _meta(arch, {}).parameters())
        masked = sum(p.numel() for p in _meta(arch, {"learn_mask": True}).parameters())
        heads = 1 if arch == "iae" else 2
        kernel_in = {"original": 64, "iae": 64, "dlight": None, "cpu": 64}[arch]
        if kernel_in:
            assert masked - plain == heads * (kernel_in * 25 + 1)
        else:   # dlight's heads differ: 32 wide on A, 64 wide on B
            assert masked - plain == (32 * 25 + 1) + (64 * 25 + 1)


@pytest.mark.parametrize("size_in,size_out,grid", [
    (64, 128, (4, 5)), (64, 64, (4, 4)), (128, 256, (8, 5)), (64, 96, (3, 5)), (128, 128, (8, 4)),
    (96, 256, (8, 5)), (64, 256, (8, 5))])
def test_realface_grid_choice(size_in, size_out, grid):
    assert decoder_grid(size_in, size_out) == grid
    assert grid[0] << grid[1] == size_out


# ---------------------------------------------------------------- real compute
def _bf16_step(model, side, batch=1):
    model = model.to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, model.input_size, model.input_size).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x, side)
    y.mean().backward()
    return y


# cheap configurations of every architecture (defaults where they are cheap enough)
TRAIN_CASES = [
    ("original", {}),
    ("lightweight", {}),
    ("iae", {}),
    ("dfaker", {}),
    ("villain", {"lowmem": True}),   # the same blocks as the default, 8 residual blocks instead of 16
    ("realface", {"complexity_encoder": 16, "complexity_decoder": 64, "dense_nodes": 128}),
    ("dlight", {"features": "lowmem", "output_size": 128}),
    ("custom", {"input_size": 64, "output_size": 128, "encoder_width": 16, "max_width": 128, "latent": 128,
                "decoder_width": 64, "bottleneck": "conv", "upscaler": "resizeconv"}),
    ("cpu", {}),
    ("cpu", {"size": 128, "bottleneck": "dense4", "decoder_residual": True}),
]


@pytest.mark.parametrize("arch,options", TRAIN_CASES, ids=[_id(c) for c in TRAIN_CASES])
def test_bf16_channels_last_training_step_with_mask(arch, options):
    """Forward/backward under bf16 autocast: 4 channels in [0, 1], and gradients reach exactly
    the shared parts and the chosen side's parts (the other side's decoder stays untouched)."""
    torch.manual_seed(0)
    model = build(arch, learn_mask=True, **options)
    y = _bf16_step(model, "b")
    assert y.shape == (1, 4, model.output_size, model.output_size)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    assert y.min() >= 0 and y.max() <= 1
    assert y[:, 3].std() > 0                       # the mask channel is computed, not constant
    other = ("inter_a.",) if arch == "iae" else ("decoder_a.",)
    for name, p in model.named_parameters():
        if name.startswith(other):
            assert p.grad is None, name
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if n.startswith("encoder."))


def test_layouts_and_precisions_agree():
    """channels_last changes nothing in fp32, and bf16 stays close to fp32."""
    torch.manual_seed(0)
    model = build("custom", input_size=64, output_size=64, encoder_width=16, max_width=64, latent=64,
                  decoder_width=32).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ref = model(x, "a")
        cl = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last), "a")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x.contiguous(memory_format=torch.channels_last), "a")
    assert torch.allclose(ref, cl, atol=1e-5)
    assert (ref - low).abs().max() < 0.05
