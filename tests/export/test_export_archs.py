"""Every architecture of the zoo exports to ONNX, and onnxruntime agrees with torch on real faces.

Fresh seeded weights: what export fidelity depends on is the graph, not the training.
Each arch runs at its smallest configuration; the fixed-width ones (50-140 M parameters)
are marked slow. ``bench/export.py`` prints the full table (fp16 and dfm too).
"""
from __future__ import annotations

import numpy as np
import pytest

from export.export_helpers import model_folder

onnx = pytest.importorskip("onnx", reason="the export extra is part of CI's install (scripts/setup.sh)")
ort = pytest.importorskip("onnxruntime", reason="the export extra is part of CI's install (scripts/setup.sh)")

CASES = [
    ("custom", {"input_size": 64, "output_size": 64, "encoder_width": 16, "max_width": 128, "latent": 128,
                "decoder_width": 64, "learn_mask": True}),
    ("custom", {"input_size": 64, "output_size": 128, "encoder_width": 8, "max_width": 64, "latent": 64,
                "decoder_width": 32, "bottleneck": "conv", "upscaler": "resizeconv"}),
    ("realface", {"complexity_encoder": 16, "complexity_decoder": 64, "dense_nodes": 128, "learn_mask": True}),
    ("cpu", {"learn_mask": True}),
    ("cpu", {"size": 128, "bottleneck": "dense4", "decoder_residual": True}),
    pytest.param("lightweight", {}, marks=pytest.mark.slow),
    pytest.param("original", {"lowmem": True, "learn_mask": True}, marks=pytest.mark.slow),
    pytest.param("iae", {"learn_mask": True}, marks=pytest.mark.slow),
    pytest.param("dfaker", {}, marks=pytest.mark.slow),
    pytest.param("villain", {"lowmem": True, "learn_mask": True}, marks=pytest.mark.slow),
    pytest.param("dlight", {"features": "lowmem", "details": "fast", "output_size": 128}, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("arch,options", CASES)
def test_export_matches_torch_on_real_faces(tmp_path, faces_a, arch, options):
    from twoface.export import export

    folder = model_folder(tmp_path, arch, options)
    r = export(folder, tmp_path / "m.onnx", check_faces=faces_a, check_count=4, direction="b2a")
    assert r.max_abs_diff <= 1e-3 and r.checked_on.startswith("4 faces from")
    # the file itself: opset 17, IR <= 9, dynamic batch, named input and outputs, metadata
    proto = onnx.load(str(r.output))
    assert proto.ir_version <= 9 and [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    meta = {p.key: p.value for p in proto.metadata_props}
    learn = bool(options.get("learn_mask"))
    assert meta["twoface.arch"] == arch and meta["twoface.side"] == "a" and meta["twoface.coverage"] == "0.75"
    assert meta["twoface.color_order"] == "RGB" and meta["twoface.value_range"] == "0..1"
    assert meta["twoface.label"].startswith("synthetic:twoface/") and meta["twoface.learn_mask"] == str(learn).lower()
    sess = ort.InferenceSession(str(r.output), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    size_in, size_out = int(meta["twoface.input_size"]), int(meta["twoface.output_size"])
    assert inp.name == "face" and inp.shape[1:] == [3, size_in, size_in] and not isinstance(inp.shape[0], int)
    assert [o.name for o in sess.get_outputs()] == (["swapped_face", "swapped_mask"] if learn else ["swapped_face"])
    # a batch of 3 (the batch axis is dynamic)
    out = sess.run(None, {"face": np.random.default_rng(1).random((3, 3, size_in, size_in), np.float32)})
    assert out[0].shape == (3, 3, size_out, size_out) and (not learn or out[1].shape == (3, 1, size_out, size_out))


def test_fp16_export_is_half_the_size_and_close_to_fp32(tmp_path, faces_a):
    from twoface.export import export

    folder = model_folder(tmp_path, *CASES[0])
    full = export(folder, tmp_path / "fp32.onnx", check_faces=faces_a, check_count=4)
    half = export(folder, tmp_path / "fp16.onnx", check_faces=faces_a, check_count=4, fp16=True)
    assert half.precision == "fp16" and half.max_abs_diff <= 2e-2 and half.fp16_twin_diff <= 1e-3
    assert half.output.stat().st_size < 0.6 * full.output.stat().st_size
    sess = ort.InferenceSession(str(half.output), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].type == "tensor(float)"  # inputs and outputs stay float32
