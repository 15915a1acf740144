"""The torch modules that become the exported graphs, and the ONNX export call itself.

Why wrappers: a twoface model is ``model(x, side)`` with the side as a Python string;
an ONNX graph has one fixed path. Each wrapper fixes the direction and adds the
layout work (channel order, NHWC, masks, reframing) so the graph is complete on its own.

- :class:`OnnxFace`: the ``onnx`` format. NCHW RGB float32 in [0, 1] in, the face
  (N, 3, O, O) out, and the learned mask (N, 1, O, O) when the model has one.
- :class:`DfmFace`: DeepFaceLive's contract. NHWC BGR float32 in [0, 1] in (static
  R×R), out ``out_face_mask``, ``out_celeb_face``, ``out_celeb_face_mask`` at R×R.
  The DeepFaceLive crop is resampled into the model's framing inside the graph and
  the output resampled back (``framing.py``), so the DFM works at DeepFaceLive's
  default face coverage.

Exporter: torch's TorchScript-based exporter at opset 17 (``dynamo=False``). The
torch.export-based exporter needs onnxscript and starts at opset 18, which the
onnxruntime 1.15 inside DeepFaceLive cannot load; these networks are plain
convolutions, so tracing sees the whole graph.
"""
from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.onnx_engine import MAX_IR_VERSION, OPSET

if TYPE_CHECKING:
    import onnx


class _Coder(Protocol):
    """What DfmFace calls on a swap model (nn.Module attributes read back as Tensor | Module to mypy)."""

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...

    def decode(self, z: torch.Tensor, side: str) -> torch.Tensor: ...

ONNX_INPUT = "face"
ONNX_OUTPUTS = ("swapped_face", "swapped_mask")
DFM_INPUT = "in_face:0"  # DeepFaceLive feeds {"in_face:0": faces}, so that is the name
DFM_OUTPUTS = ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")  # read by position


def _other(side: str) -> str:
    return "a" if side == "b" else "b"


class OnnxFace(nn.Module):
    """One direction of a swap model: the shared encoder and the target decoder."""

    def __init__(self, model: nn.Module, side: str, fp16: bool = False):
        super().__init__()
        self.model, self.side, self.fp16 = model, side, fp16

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.fp16:
            x = x.half()
        y = self.model(x, self.side).float()
        if y.shape[1] > 3:
            return y[:, :3], y[:, 3:4]
        return y


class DfmFace(nn.Module):
    """The DeepFaceLive contract around one direction of a swap model (see the module doc).

    ``to_model``/``to_dfl`` are GridSample grids (None: no resampling, the DFM crop is the
    model's crop). ``fixed_mask`` (1, 1, O, O) stands in for the masks when the model learns none.
    """

    # registered buffers (possibly None); declared so that mypy reads them as tensors, not Tensor | Module
    to_model: torch.Tensor | None
    to_dfl: torch.Tensor | None
    fixed_mask: torch.Tensor | None

    def __init__(self, model: nn.Module, side: str, to_model: np.ndarray | None, to_dfl: np.ndarray | None,
                 fixed_mask: np.ndarray | None, fp16: bool = False):
        super().__init__()
        self.model, self.side, self.fp16 = model, side, fp16
        self.register_buffer("to_model", None if to_model is None else torch.from_numpy(to_model))
        self.register_buffer("to_dfl", None if to_dfl is None else torch.from_numpy(to_dfl))
        self.register_buffer("fixed_mask", None if fixed_mask is None else torch.from_numpy(fixed_mask))

    @staticmethod
    def _sample(x: torch.Tensor, grid: torch.Tensor, padding: str) -> torch.Tensor:
        return F.grid_sample(x, grid.expand(x.shape[0], -1, -1, -1), mode="bilinear",
                             padding_mode=padding, align_corners=False)

    def forward(self, in_face: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = in_face.permute(0, 3, 1, 2).flip(1)  # NHWC BGR -> NCHW RGB
        if self.to_model is not None:
            x = self._sample(x, self.to_model, "border")
        if self.fp16:
            x = x.half()
        net = cast(_Coder, self.model)
        z = net.encode(x)
        y = net.decode(z, self.side).float()
        face = y[:, :3]
        if self.fixed_mask is None:
            celeb_mask = y[:, 3:4]
            own_mask = net.decode(z, _other(self.side)).float()[:, 3:4]
        else:
            celeb_mask = own_mask = self.fixed_mask.expand(face.shape[0], -1, -1, -1)
        if self.to_dfl is not None:
            face = self._sample(face, self.to_dfl, "border")
            celeb_mask = self._sample(celeb_mask, self.to_dfl, "zeros")
            own_mask = self._sample(own_mask, self.to_dfl, "zeros")
        nhwc = [t.permute(0, 2, 3, 1) for t in (own_mask, face.flip(1), celeb_mask)]  # face back to BGR
        return tuple(t.clamp(0.0, 1.0) for t in nhwc)


def to_onnx_bytes(module: nn.Module, example: torch.Tensor, input_name: str, output_names: tuple[str, ...],
                  dynamic_hw: bool = False) -> bytes:
    """Trace ``module`` on ``example`` into ONNX bytes at opset 17 with a dynamic batch axis."""
    axes = {input_name: {0: "batch"}, **{n: {0: "batch"} for n in output_names}}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice: see the module doc
        with torch.no_grad():
            # the stubs say a path, but the TorchScript exporter (dynamo=False) writes to any binary file object
            torch.onnx.export(module, (example,), cast(Any, buf), dynamo=False, opset_version=OPSET,
                              input_names=[input_name], output_names=list(output_names), dynamic_axes=axes,
                              do_constant_folding=True)
    return buf.getvalue()


def finish_model(data: bytes, metadata: dict[str, str], doc: str) -> onnx.ModelProto:
    """Load the traced bytes as an ONNX model, cap its IR version, attach metadata, check it."""
    import onnx

    proto = onnx.load_from_string(data)
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    del proto.metadata_props[:]
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, str(v)
    proto.producer_name = "twoface"
    proto.doc_string = doc
    onnx.checker.check_model(proto)
    return proto
