"""The export stage: a trained model folder as an ONNX graph or a DeepFaceLive DFM file.

``export(model, output, **options)`` is the Python twin of ``twoface export``; options
are the fields of :class:`ExportOptions`. It returns an :class:`ExportResult`.

Order: options, output and model are checked first; the graph is traced, checked by
onnxruntime against torch on real faces (max abs difference at most 1e-3 in fp32), and
only then written, atomically. A failed check writes nothing.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ModelError, OutputError, TwofaceError
from .options import FP16_TOLERANCE, FP32_TOLERANCE, ExportOptions

__all__ = ["export", "ExportOptions", "ExportResult"]


@dataclass
class ExportResult:
    output: Path
    format: str
    arch: str
    direction: str
    precision: str
    input_shape: list
    outputs: dict[str, list]
    max_abs_diff: float
    fp16_twin_diff: float | None  # fp16 exports: the fp16 graph's own error against its fp16 torch twin
    tolerance: float
    checked_on: str
    opset: int
    ir_version: int
    mask: str
    dfl_settings: dict = field(default_factory=dict)
    seconds: float = 0.0


def _load(model_dir: Path):
    from ..models.folder import load_model, read_config, refuse_prior

    if not model_dir.exists():
        raise ModelError("no such model folder", model_dir)
    if model_dir.is_dir():
        refuse_prior(read_config(model_dir), model_dir)
    return load_model(model_dir)


def _coverage(config: dict) -> float:
    from ..faces.align import DEFAULT_COVERAGE

    faces = config.get("faces") or {}
    return float(faces.get("coverage", config.get("coverage", DEFAULT_COVERAGE)))


def export(model: str | Path, output: str | Path, **options) -> ExportResult:
    """Export the model folder ``model`` to ``output`` (see the module doc)."""
    import torch

    from ..fsutil import atomic_write_bytes
    from ..media.label import SYNTHETIC_TAG
    from ..models.onnx_engine import EXPORT_VERSION, FORMAT_DFM, FORMAT_ONNX, OPSET
    from . import framing as fr
    from .check import load_check_faces, max_abs_diff
    from .graph import DFM_INPUT, DFM_OUTPUTS, ONNX_INPUT, ONNX_OUTPUTS, DfmFace, OnnxFace, finish_model, to_onnx_bytes

    t0 = time.monotonic()
    opts = ExportOptions(**options)
    model_dir, output = Path(model), Path(output)
    fmt = opts.format_for(output)
    if output.exists() and output.is_dir():
        raise OutputError("is a folder; give a file name for the export", output)
    if output.exists() and not opts.overwrite:
        raise OutputError("already exists; pass --overwrite to replace it", output)
    net, config = _load(model_dir)
    net = net.float().eval()
    coverage = _coverage(config)
    size_in, size_out, learn = int(net.input_size), int(net.output_size), bool(net.learn_mask)
    side = opts.side
    source_side = "a" if side == "b" else "b"
    precision = "fp16" if opts.fp16 else "fp32"
    traced_net = copy.deepcopy(net).half() if opts.fp16 else net

    meta = {
        "twoface.format": FORMAT_DFM if fmt == "dfm" else FORMAT_ONNX, "twoface.export_version": EXPORT_VERSION,
        "twoface.version": __version__, "twoface.arch": net.arch, "twoface.options": json.dumps(net.options),
        "twoface.direction": opts.direction, "twoface.side": side, "twoface.input_size": size_in,
        "twoface.output_size": size_out, "twoface.coverage": f"{coverage:g}",
        "twoface.learn_mask": "true" if learn else "false", "twoface.precision": precision,
        "twoface.value_range": "0..1", "twoface.label": SYNTHETIC_TAG,
        "twoface.consent": "swap only the faces of people who consented; never present the output as real",
    }
    dfl: dict = {}
    if fmt == "onnx":
        outputs: tuple[str, ...] = ONNX_OUTPUTS if learn else ONNX_OUTPUTS[:1]
        meta.update({"twoface.layout": "NCHW", "twoface.color_order": "RGB",
                     "twoface.inputs": f"{ONNX_INPUT}: (N, 3, {size_in}, {size_in}) float32 RGB 0..1",
                     "twoface.outputs": ", ".join(f"{n}: (N, {3 if n == ONNX_OUTPUTS[0] else 1}, {size_out}, "
                                                  f"{size_out})" for n in outputs)})
        mask_kind = "learned" if learn else "none"
        ref_module: torch.nn.Module = OnnxFace(net, side)
        module: torch.nn.Module = OnnxFace(traced_net, side, opts.fp16)
        size_check, input_name = size_in, ONNX_INPUT

        def to_input(faces: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(faces[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    else:
        dfm_size = size_out
        outputs = DFM_OUTPUTS
        if opts.dfm_coverage == "model":
            to_model = fr.resize_grid(dfm_size, size_in) if size_in != size_out else None
            to_dfl = None
            k, x_off, y_off = fr.matching_dfl_settings(coverage)
            dfl = {"framing": "model", "coverage": round(k, 3), "x_offset": round(x_off, 3),
                   "y_offset": round(y_off, 3)}
        else:
            k, x_off, y_off = float(opts.dfm_coverage), float(opts.dfm_x_offset), float(opts.dfm_y_offset)
            to_model = fr.dfl_to_model_grid(dfm_size, k, x_off, y_off, size_in, coverage)
            to_dfl = fr.model_to_dfl_grid(dfm_size, k, x_off, y_off, size_out, coverage)
            dfl = {"framing": "deepfacelive", "coverage": k, "x_offset": x_off, "y_offset": y_off}
        fixed = None if learn else fr.soft_face_mask(size_out, coverage)[None, None]
        mask_kind = "learned" if learn else "fixed soft face mask (the model learns none)"
        meta.update({"twoface.layout": "NHWC", "twoface.color_order": "BGR", "twoface.dfm_size": dfm_size,
                     "twoface.dfm_framing": dfl["framing"], "twoface.dfl_coverage": f"{dfl['coverage']:g}",
                     "twoface.dfl_x_offset": f"{dfl['x_offset']:g}", "twoface.dfl_y_offset": f"{dfl['y_offset']:g}",
                     "twoface.mask": mask_kind,
                     "twoface.inputs": f"{DFM_INPUT}: (N, {dfm_size}, {dfm_size}, 3) float32 BGR 0..1",
                     "twoface.outputs": ", ".join(f"{n}: (N, {dfm_size}, {dfm_size}, {3 if 'face_mask' not in n else 1})"
                                                  for n in DFM_OUTPUTS)})
        ref_module = DfmFace(net, side, to_model, to_dfl, fixed)
        module = DfmFace(traced_net, side, to_model, to_dfl, fixed, opts.fp16)
        size_check, input_name = dfm_size, DFM_INPUT

        def to_input(faces: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(faces, dtype=np.float32) / 255.0
    meta["twoface.mask"] = mask_kind

    # eval on the wrappers themselves: torch.onnx.export puts a module back in the mode it found it in,
    # and a wrapper left in training mode would switch the model's dropout (dlight) back on afterwards
    ref_module.eval()
    module.eval()
    faces = load_check_faces(model_dir, source_side, opts.check_faces, opts.check_count, size_check)
    x = to_input(faces.images)
    data = to_onnx_bytes(module, torch.from_numpy(x[:1]), input_name, tuple(outputs))
    doc = (f"twoface {__version__} export of a {net.arch} model, {opts.direction}. Synthetic media: "
           f"outputs are labelled {SYNTHETIC_TAG}. {meta['twoface.inputs']} -> {meta['twoface.outputs']}.")
    proto = finish_model(data, {k: str(v) for k, v in meta.items()}, doc)
    blob = proto.SerializeToString()

    got = _run_ort(blob, input_name, x)
    with torch.no_grad():
        ref = _as_list(ref_module(torch.from_numpy(x)))
        twin = _as_list(module(torch.from_numpy(x))) if opts.fp16 else None
    diff = max_abs_diff(ref, got)
    tolerance = FP16_TOLERANCE if opts.fp16 else FP32_TOLERANCE
    if not diff <= tolerance:
        raise TwofaceError(f"{model_dir}: export self-check failed: onnxruntime differs from torch by {diff:.2e} "
                           f"(allowed {tolerance:g}) on {faces.source}; nothing was written")
    atomic_write_bytes(output, blob)
    return ExportResult(
        output=output, format=fmt, arch=net.arch, direction=opts.direction, precision=precision,
        input_shape=["N", *x.shape[1:]], outputs={n: ["N", *g.shape[1:]] for n, g in zip(outputs, got)},
        max_abs_diff=diff, fp16_twin_diff=None if twin is None else max_abs_diff(twin, got), tolerance=tolerance,
        checked_on=faces.source, opset=OPSET, ir_version=int(proto.ir_version), mask=mask_kind,
        dfl_settings=dfl, seconds=time.monotonic() - t0)


def _as_list(y) -> list[np.ndarray]:
    return [t.float().numpy() for t in (y if isinstance(y, (tuple, list)) else (y,))]


def _run_ort(blob: bytes, input_name: str, x: np.ndarray) -> list[np.ndarray]:
    from ..models.onnx_engine import _ort

    ort = _ort()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(blob, sess_options=so, providers=["CPUExecutionProvider"])
    return list(session.run(None, {input_name: x}))


from .. import _callable_stage  # noqa: E402  (so that twoface.export(...) calls export())

_callable_stage(__name__, "export")
