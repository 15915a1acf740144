"""Exported twoface models (``twoface export``) read and run with onnxruntime, without torch.

Why a second engine: a machine that only converts (a laptop, a render box) should not
need a 700 MB torch install. ``convert --engine onnx`` runs this class where the torch
engine runs ``Swapper``: same inputs (uint8 BGR crops at the model's input size), same
outputs (float32 BGR faces in [0, 1], optional masks), same :class:`Framing`, so the
rest of the pipeline cannot tell them apart.

This module must import without torch (a test blocks torch and runs it). Only
numpy and onnxruntime.

An exported file says what it is in its ``metadata_props`` (keys ``twoface.*``):
the format (``twoface-onnx`` or ``twoface-dfm``), version, architecture, sizes,
coverage, direction, layout, colour order, value range and the synthetic-media
label. A file without them, or whose graph disagrees with them, is refused.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MissingDependency, ModelError
from .framing import Framing

if TYPE_CHECKING:
    import onnxruntime  # type: ignore[import-untyped]

OPSET = 17          # DeepFaceLive bundles onnxruntime 1.15; opset 17 is the newest it and 1.12-era runtimes read
MAX_IR_VERSION = 9  # onnxruntime 1.15 reads IR versions up to 9
FORMAT_ONNX = "twoface-onnx"
FORMAT_DFM = "twoface-dfm"
FORMATS = (FORMAT_ONNX, FORMAT_DFM)
EXPORT_VERSION = 1
INSTALL_HINT = "pip install 'twoface[export]' (onnxruntime)"


@dataclass
class ExportInfo:
    """What an exported file's metadata and graph say about it."""

    path: Path
    format: str
    meta: dict[str, str]
    arch: str
    side: str  # the decoder side the graph renders ("b" for an a2b export)
    direction: str
    framing: Framing
    precision: str


def _ort():
    try:
        import onnxruntime
    except ImportError as err:
        raise MissingDependency(f"running an exported model needs onnxruntime: {INSTALL_HINT}") from err
    return onnxruntime


def _static(dim) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def open_session(path: str | Path, threads: int | None = None) -> onnxruntime.InferenceSession:
    """An onnxruntime session on ``path``, or a ModelError saying why the file cannot be one."""
    ort = _ort()
    path = Path(path)
    if not path.exists():
        raise ModelError("no such file", path)
    if path.is_dir():
        raise ModelError("is a folder; --engine onnx takes an .onnx file made by `twoface export`", path)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot be read ({err.strerror})", path) from err
    if not data:
        raise ModelError("is empty, not an ONNX model", path)
    try:
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception classes, all plain Exceptions
        why = str(err).split(":")[-1].strip() or type(err).__name__
        raise ModelError(f"is not a readable ONNX model (truncated or damaged file? onnxruntime: {why})",
                         path) from None


def _meta_int(meta: dict, key: str, path: Path) -> int:
    try:
        return int(meta[key])
    except (KeyError, ValueError):
        raise ModelError(f"twoface metadata lacks a valid {key!r}; export the model again", path) from None


def describe(session: onnxruntime.InferenceSession, path: str | Path) -> ExportInfo:
    """Check that ``session``'s model is a twoface export whose graph matches its metadata."""
    path = Path(path)
    meta = dict(session.get_modelmeta().custom_metadata_map)
    fmt = meta.get("twoface.format")
    if fmt not in FORMATS:
        raise ModelError("is an ONNX model but not one made by `twoface export` (no twoface metadata); "
                         "export the model folder with `twoface export MODEL -o FILE.onnx`", path)
    try:
        version = int(meta.get("twoface.export_version", "0"))
    except ValueError:
        version = 0
    if version > EXPORT_VERSION:
        raise ModelError(f"was exported by a newer twoface (export format {version}); upgrade twoface", path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    size_in, size_out = _meta_int(meta, "twoface.input_size", path), _meta_int(meta, "twoface.output_size", path)
    learn_mask = meta.get("twoface.learn_mask") == "true"
    try:
        coverage = float(meta["twoface.coverage"])
    except (KeyError, ValueError):
        raise ModelError("twoface metadata lacks a valid 'twoface.coverage'; export the model again", path) from None
    if len(inputs) != 1:
        raise ModelError(f"has {len(inputs)} inputs; a twoface export has one", path)
    shape = list(inputs[0].shape)
    if fmt == FORMAT_ONNX:
        want_in, hw_in = (3, size_in, size_in), [_static(d) for d in shape[1:]]
        want_out = (3, size_out, size_out)
        out_shapes = [list(o.shape)[1:] for o in outputs]
        if len(outputs) != (2 if learn_mask else 1):
            raise ModelError(f"has {len(outputs)} outputs but its metadata says "
                             f"{'face and mask' if learn_mask else 'face only'}", path)
    else:
        dfl = _meta_int(meta, "twoface.dfm_size", path)
        want_in, hw_in = (dfl, dfl, 3), [_static(d) for d in shape[1:]]
        want_out = (dfl, dfl, 3)
        out_shapes = [list(outputs[1].shape)[1:]] if len(outputs) == 3 else []
        if len(outputs) != 3:
            raise ModelError(f"has {len(outputs)} outputs; a DFM has three", path)
    if len(shape) != 4 or tuple(hw_in) != want_in:
        raise ModelError(f"its graph takes input {shape} but its twoface metadata says "
                         f"(N, {', '.join(map(str, want_in))}); the file was altered or mislabelled", path)
    if out_shapes and [_static(d) for d in out_shapes[0]] != list(want_out):
        raise ModelError(f"its graph's face output is {outputs[0 if fmt == FORMAT_ONNX else 1].shape} but its "
                         f"twoface metadata says (N, {', '.join(map(str, want_out))})", path)
    side = meta.get("twoface.side", "")
    if side not in ("a", "b"):
        raise ModelError("twoface metadata lacks a valid 'twoface.side'; export the model again", path)
    framing = Framing(size_in, size_out, coverage, learn_mask)
    return ExportInfo(path, fmt, meta, meta.get("twoface.arch", "?"), side,
                      meta.get("twoface.direction", "a2b" if side == "b" else "b2a"), framing,
                      meta.get("twoface.precision", "fp32"))


def read_export(path: str | Path) -> ExportInfo:
    """What a twoface export file is (for ``inspect`` and the checks), or a ModelError."""
    return describe(open_session(path), path)


class OnnxSwapper:
    """Runs an exported twoface model on batches of aligned crops (the torch ``Swapper``'s twin)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        path = Path(path)
        threads = threads or int(os.environ.get("TWOFACE_ORT_THREADS", "0")) or None
        self.session = open_session(path, threads)
        self.info = describe(self.session, path)
        self.framing = self.info.framing
        self.model_dir = path
        self.config = {"arch": self.info.arch, "format": self.info.format,
                       "options": json.loads(self.info.meta.get("twoface.options", "{}") or "{}")}
        self._input = self.session.get_inputs()[0].name
        if self.info.format == FORMAT_DFM:
            # refused here, before convert opens any output, not at the first face
            if self.info.meta.get("twoface.dfm_framing") != "model":
                raise ModelError("is a DFM made for DeepFaceLive's framing; for convert, export the model with "
                                 "--format onnx (or --format dfm --dfm-coverage model)", self.info.path)
            self._size = int(self.info.meta["twoface.dfm_size"])

    def check_side(self, side: str, path: Path | None = None) -> None:
        """An export holds one direction; refuse the other one clearly."""
        if side != self.info.side:
            want = "a2b" if side == "b" else "b2a"
            raise ModelError(f"was exported for --direction {self.info.direction}; export the model again with "
                             f"--direction {want}", path or self.info.path)

    def __call__(self, crops: list[np.ndarray], side: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Render ``crops`` (uint8 BGR, input size) as identity ``side``: float32 BGR faces, masks or None."""
        self.check_side(side)
        batch = np.stack(crops)
        if self.info.format == FORMAT_ONNX:
            x = np.ascontiguousarray(batch[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
            out = self.session.run(None, {self._input: x})
            faces = np.clip(out[0], 0.0, 1.0).transpose(0, 2, 3, 1)[..., ::-1]
            masks = np.clip(out[1][:, 0], 0.0, 1.0) if len(out) > 1 else None
            return np.ascontiguousarray(faces, dtype=np.float32), \
                None if masks is None else np.ascontiguousarray(masks, dtype=np.float32)
        return self._run_dfm(batch)

    def _run_dfm(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A DFM export reframes inside its graph; only one made at the model's own framing can
        stand in for the model here (its crops are the pipeline's crops; ``__init__`` refuses others)."""
        import cv2

        x = np.stack([cv2.resize(c, (self._size, self._size), interpolation=cv2.INTER_LINEAR)
                      if c.shape[0] != self._size else c for c in batch]).astype(np.float32) / 255.0
        _, face, mask = self.session.run(None, {self._input: x})
        masks = np.ascontiguousarray(mask[..., 0], dtype=np.float32) if self.framing.learn_mask else None
        return np.ascontiguousarray(face, dtype=np.float32), masks
