"""SFace as a torch module: the identity network of ``faces.identity``, differentiable, for training losses.

Why a port and not OpenCV: a loss needs gradients through the network, and OpenCV's DNN has
none. Why our own loader and not onnx2torch: the graph is a plain chain (the MobileNet-style
MobileFaceNet variant SFace ships), so reading it takes a page, and a hand-written module says
what the network is. The weights come from the very file extract verifies
(``assets.model_path("sface")``); nothing else is downloaded or stored.

The file (``face_recognition_sface_2021dec_int8bq.onnx``) is quantised *weight-only*: every
convolution and the final Gemm read their weights through ``DequantizeLinear`` with int8 values,
one float scale and one int8 zero point per block of 64 (9 for depthwise 3×3 kernels, 27 for
the first conv) along the input axis, then a ``Reshape`` to the kernel's shape. Activations are
float all the way, so dequantising once at load, ``w = (q - zero) × scale`` per block, gives the
network OpenCV runs, number for number up to float rounding.

Every batch norm is folded into the layer before it when loading (at inference a batch norm is a
fixed per-channel affine map): the same function, and about a quarter less time per image, which
matters because a training step runs this network on every swap.

The graph, top to bottom (what :class:`SFaceTorch` spells out):

    (x − 127.5) × 0.0078125                  x: RGB 0..255, 112×112 (the ArcFace crop)
    conv_1      3×3 conv 3→32 + BN + PReLU
    conv_2..14  depthwise 3×3 (+BN+PReLU) then pointwise 1×1 (+BN+PReLU); stride 2 at
                conv_3, 5, 7 and 13: 112 → 56 → 28 → 14 → 7 px, 64 … 1024 channels
    bn1         BN over the 1024×7×7 map, dropout (inactive at inference), flatten
    pre_fc1     Linear 50176 → 128, then fc1: BN over the 128 outputs = the embedding

Input convention (OpenCV's ``FaceRecognizerSF.feature`` and twoface's ``Embedder``): a BGR
112×112 crop on the ArcFace template (``align.identity_crop``) goes through
``blobFromImage(crop, 1.0, (112, 112), 0, swapRB=True)``: RGB, 0..255, no scaling; the graph
subtracts and scales itself. :meth:`SFaceTorch.forward` takes twoface's torch convention instead
(RGB in [0, 1], N×3×112×112) and multiplies by 255 first.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ModelError
from . import assets

SIZE = 112
EMBEDDING_DIM = 128
# conv_2 .. conv_14: (name, channels in, channels out, stride of the depthwise conv), as in the graph
BLOCKS = (
    ("conv_2", 32, 64, 1), ("conv_3", 64, 128, 2), ("conv_4", 128, 128, 1), ("conv_5", 128, 256, 2),
    ("conv_6", 256, 256, 1), ("conv_7", 256, 512, 2), ("conv_8", 512, 512, 1), ("conv_9", 512, 512, 1),
    ("conv_10", 512, 512, 1), ("conv_11", 512, 512, 1), ("conv_12", 512, 512, 1), ("conv_13", 512, 1024, 2),
    ("conv_14", 1024, 1024, 1),
)
BLOCK_NAMES = ("conv_1",) + tuple(b[0] for b in BLOCKS)


class ConvBNPReLU(nn.Module):
    """The graph's unit: convolution, batch norm (folded into the convolution's bias) and a per-channel PReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=True)
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DepthwiseSeparable(nn.Module):
    """A depthwise 3×3 unit (the graph's ``conv_N_dw``) then a pointwise 1×1 unit (``conv_N``)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.dw = ConvBNPReLU(cin, cin, 3, stride, groups=cin)
        self.pw = ConvBNPReLU(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class SFaceTorch(nn.Module):
    """SFace: RGB [0, 1] N×3×112×112 ArcFace crops -> N×128 embeddings (not normalised, as OpenCV's)."""

    mean: torch.Tensor  # the graph's input Sub and Mul constants (127.5, 1/128)
    scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(127.5))
        self.register_buffer("scale", torch.tensor(0.0078125))
        self.conv_1 = ConvBNPReLU(3, 32, 3)
        for name, cin, cout, stride in BLOCKS:
            self.add_module(name, DepthwiseSeparable(cin, cout, stride))
        # bn1, dropout (inactive), flatten, pre_fc1 and the fc1 batch norm: one affine map, folded
        self.head = nn.Linear(1024 * 7 * 7, EMBEDDING_DIM)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (3, SIZE, SIZE):
            raise ValueError(f"SFace takes N×3×{SIZE}×{SIZE} RGB crops, got {tuple(x.shape)}")
        return (x * 255 - self.mean) * self.scale

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(x, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-d embeddings of RGB [0, 1] crops on the ArcFace 112×112 template."""
        x = self._stem(x)
        for name in BLOCK_NAMES:
            x = getattr(self, name)(x)
        return self._head(x)

    def features(self, x: torch.Tensor, taps: tuple[str, ...], embed: bool = False) -> dict[str, torch.Tensor]:
        """The outputs of the named blocks (``conv_1`` … ``conv_14``), for perceptual losses.

        Runs only as deep as the deepest tap unless ``embed`` (then ``"embedding"`` is added).
        """
        unknown = [t for t in taps if t not in BLOCK_NAMES]
        if unknown:
            raise ValueError(f"unknown SFace layer(s) {unknown}; choose from {', '.join(BLOCK_NAMES)}")
        last = len(BLOCK_NAMES) if embed else max(BLOCK_NAMES.index(t) for t in taps) + 1
        out: dict[str, torch.Tensor] = {}
        x = self._stem(x)
        for name in BLOCK_NAMES[:last]:
            x = getattr(self, name)(x)
            if name in taps:
                out[name] = x
        if embed:
            out["embedding"] = self._head(x)
        return out


# --- reading the ONNX file ------------------------------------------------------------------------------

def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21, blocked): ``(q - zero) * scale``, one scale per ``block`` along ``axis``."""
    if scale.size == 1:  # per-tensor
        return (q.astype(np.float32) - np.float32(zero.reshape(()))) * np.float32(scale.reshape(()))
    if block:
        scale = np.repeat(scale, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    else:  # per-axis: one scale per index of ``axis``
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q.astype(np.float32) - zero.astype(np.float32)) * scale.astype(np.float32)


def _constants(graph) -> dict[str, np.ndarray]:
    """Every initializer, plus what the weight-only subgraph (DequantizeLinear, Reshape) computes from them."""
    from onnx import helper, numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if not all(i in values for i in node.input if i):
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear":
            q, scale, zero = (values[i] for i in node.input)
            values[node.output[0]] = _dequantize(q, scale, zero, int(attrs.get("axis", 1)),
                                                 int(attrs.get("block_size", 0)))
        elif node.op_type == "Reshape":
            values[node.output[0]] = values[node.input[0]].reshape(values[node.input[1]])
        elif node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(attrs["value"])
    return values


def _compute_nodes(graph, values: dict) -> list:
    return [n for n in graph.node if n.op_type not in ("DequantizeLinear", "Reshape", "Constant")
            or not all(i in values for i in n.input if i)]


def _check(value: np.ndarray, size: int, what: str, path: Path) -> np.ndarray:
    value = np.asarray(value, np.float64).reshape(-1)
    if value.size != size:
        raise ModelError(f"the SFace graph does not match the expected network ({what}: {value.size} values, "
                         f"expected {size})", path)
    return value


def _set(param: torch.Tensor, value: np.ndarray) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.asarray(value, np.float32).reshape(param.shape)))


def _bn_affine(node, values: dict, channels: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A BatchNormalization node as ``y = k x + c`` per channel (float64)."""
    from onnx import helper

    eps = float({a.name: helper.get_attribute_value(a) for a in node.attribute}.get("epsilon", 1e-5))
    gamma, beta, mean, var = (_check(values[i], channels, f"{node.output[0]} input {i}", path)
                              for i in node.input[1:5])
    k = gamma / np.sqrt(var + eps)
    return k, beta - mean * k


def _load_unit(unit: ConvBNPReLU, conv, bn, prelu, values: dict, path: Path) -> None:
    """One Conv -> BatchNormalization -> PRelu run of the graph, checked against ``unit``, the norm folded."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    layer = unit.conv
    expect = {"strides": list(layer.stride), "group": layer.groups, "kernel_shape": list(layer.kernel_size),
              "pads": [layer.padding[0]] * 4}
    got = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in attrs.items() if k in expect}
    if got != expect or bn.op_type != "BatchNormalization" or prelu.op_type != "PRelu" or len(conv.input) > 2:
        raise ModelError(f"the SFace graph does not match the expected network at {conv.output[0]} "
                         f"({conv.op_type} {got}, expected {expect} then BatchNormalization, PRelu)", path)
    cout = layer.out_channels
    weight = _check(values[conv.input[1]], layer.weight.numel(), conv.output[0], path).reshape(cout, -1)
    k, c = _bn_affine(bn, values, cout, path)
    assert layer.bias is not None  # ConvBNPReLU's convolutions carry the folded bias
    _set(layer.weight, weight * k[:, None])
    _set(layer.bias, c)
    _set(unit.act.weight, _check(values[prelu.input[1]], cout, prelu.output[0], path))


def _load_head(net: SFaceTorch, bn1, gemm, fc1, values: dict, path: Path) -> None:
    """bn1 (per channel of the 1024×7×7 map), Gemm and the fc1 batch norm folded into one Linear."""
    from onnx import helper

    trans_b = {a.name: helper.get_attribute_value(a) for a in gemm.attribute}.get("transB", 0)
    features = net.head.in_features
    weight = _check(values[gemm.input[1]], features * EMBEDDING_DIM, "pre_fc1 weight", path)
    weight = weight.reshape(EMBEDDING_DIM, features) if trans_b else weight.reshape(features, EMBEDDING_DIM).T
    bias = _check(values[gemm.input[2]], EMBEDDING_DIM, "pre_fc1 bias", path)
    k_in, c_in = _bn_affine(bn1, values, 1024, path)
    per_pixel = features // 1024  # flatten is channel-major: each channel's scale covers its 7×7 pixels
    k_in, c_in = np.repeat(k_in, per_pixel), np.repeat(c_in, per_pixel)
    k_out, c_out = _bn_affine(fc1, values, EMBEDDING_DIM, path)
    _set(net.head.weight, k_out[:, None] * weight * k_in[None, :])
    _set(net.head.bias, k_out * (weight @ c_in + bias) + c_out)


def load_onnx(path: str | Path) -> SFaceTorch:
    """An :class:`SFaceTorch` with the weights of an SFace ONNX file (float, or weight-only quantised)."""
    import onnx

    path = Path(path)
    try:
        graph = onnx.load(str(path)).graph
    except Exception as err:  # a damaged file: protobuf's own errors are not worth a traceback
        raise ModelError(f"cannot read the SFace ONNX file ({type(err).__name__})", path) from err
    values = _constants(graph)
    nodes = _compute_nodes(graph, values)
    ops = [n.op_type for n in nodes]
    expect = ["Sub", "Mul"] + ["Conv", "BatchNormalization", "PRelu"] * 27 + \
        ["BatchNormalization", "Dropout", "Flatten", "Gemm", "BatchNormalization"]
    if ops != expect:
        raise ModelError(f"the SFace graph does not match the expected network ({len(ops)} compute nodes: "
                         f"{', '.join(ops[:6])}, ...)", path)
    net = SFaceTorch()
    _set(net.mean, _check(values[nodes[0].input[1]], 1, "input mean", path))
    _set(net.scale, _check(values[nodes[1].input[1]], 1, "input scale", path))
    units = [net.conv_1] + [u for name in BLOCK_NAMES[1:] for u in (getattr(net, name).dw, getattr(net, name).pw)]
    for i, unit in enumerate(units):
        conv, bn, prelu = nodes[2 + 3 * i: 5 + 3 * i]
        _load_unit(unit, conv, bn, prelu, values, path)
    bn1, _dropout, _flatten, gemm, fc1 = nodes[-5:]
    _load_head(net, bn1, gemm, fc1, values, path)
    return net


def frozen(net: nn.Module) -> nn.Module:
    """Eval mode (batch-norm statistics fixed, dropout off) and no parameter takes a gradient."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@functools.cache
def _cpu_model() -> SFaceTorch:
    return load_onnx(assets.model_path("sface"))


@functools.cache
def load_sface_torch(device: str | torch.device = "cpu") -> SFaceTorch:
    """The shipped SFace, frozen (eval mode, no gradients), float32 on ``device``; one copy per device.

    Gradients still flow *through* it to its input, which is what an identity loss needs.
    """
    net = SFaceTorch()
    net.load_state_dict(_cpu_model().state_dict())
    frozen(net)
    return net.to(torch.device(device))


# --- from a training crop to SFace's crop, differentiably -----------------------------------------------

def crop_theta(coverage: float, crop_size: int, augment: torch.Tensor | None = None) -> torch.Tensor:
    """``affine_grid`` matrices (N×2×3, or 1×2×3) that cut SFace's 112 px ArcFace crop out of an aligned crop.

    An aligned crop at ``coverage`` (``align.template``) is the ArcFace template scaled by
    ``0.5 / coverage`` about the centre of a ``crop_size``-pixel image, so in grid_sample's
    normalised coordinates (align_corners=False) an SFace position ``v`` sits at
    ``u = k v + 1/crop_size - k/112`` with ``k = 0.5 / coverage``; normalised coordinates do not
    change when the crop is resized, so ``crop_size`` is the size the crop was *aligned* at (the
    face PNG's, ``FaceMeta.size``), whatever size the image now has.

    ``augment``: the N×2×3 matrices the augmentation sampled the image with (output -> source, see
    ``data.augment.affine_theta``); they are undone, so a rotated, zoomed or flipped training
    target still gives SFace an upright face on its template.
    """
    k = 0.5 / float(coverage)
    offset = 1.0 / float(crop_size) - k / SIZE
    base = torch.tensor([[[k, 0.0, offset], [0.0, k, offset]]], dtype=torch.float64)
    if augment is None:
        return base.float()
    a = augment.double()
    inverse = torch.linalg.inv(a[:, :, :2])  # source -> output for the linear part
    linear = inverse @ base[:, :, :2]
    shift = (inverse @ (base[:, :, 2:] - a[:, :, 2:]))
    return torch.cat([linear, shift], 2).float()


def to_sface(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """SFace's N×3×112×112 input (float32, RGB [0, 1]) sampled from aligned crops with :func:`crop_theta`'s matrices.

    Bilinear ``grid_sample``: differentiable in ``images``, so a loss on the embedding reaches the
    network that drew them. Pixels outside the crop repeat its border, as OpenCV's warp does.
    """
    x = images[:, :3].float()
    theta = theta.to(x.device, torch.float32).expand(x.shape[0], 2, 3)
    grid = nn.functional.affine_grid(theta, [x.shape[0], 3, SIZE, SIZE], align_corners=False)
    return nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
