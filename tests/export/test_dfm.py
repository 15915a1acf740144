"""DFM export: loaded by onnxruntime the way DeepFaceLive loads it, and its faces match twoface's own swap."""
from __future__ import annotations

import numpy as np
import pytest

from convert.convert_fixtures import tiny_model  # noqa: F401  (fixture: custom 64 px, learned mask, 30 iterations)
from export.export_helpers import faces_with_frames

ort = pytest.importorskip("onnxruntime", reason="the export extra is part of CI's install (scripts/setup.sh)")
onnx = pytest.importorskip("onnx", reason="the export extra is part of CI's install (scripts/setup.sh)")


@pytest.fixture(scope="module")
def dfms(tiny_model, faces_a, tmp_path_factory):
    """The tiny model as a DFM at DeepFaceLive's default framing and as one at the model's own framing."""
    from twoface.export import export

    root = tmp_path_factory.mktemp("dfm")
    default = export(tiny_model, root / "default.dfm", check_faces=faces_a, check_count=4)
    own = export(tiny_model, root / "own.dfm", dfm_coverage="model", check_faces=faces_a, check_count=4)
    return default, own


@pytest.fixture(scope="module")
def real_faces(faces_a):
    return faces_with_frames(faces_a, 4)


def _deepfacelive_run(path, faces: np.ndarray) -> list[np.ndarray]:
    """What DeepFaceLive's DFM loader does: the input whose name has in_face, fed as in_face:0; outputs by position."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    face_inputs = [i for i in inputs if "in_face" in i.name]
    assert len(face_inputs) == 1 and all("in_face" in i.name or "morph_value" in i.name for i in inputs)
    shape = face_inputs[0].shape
    assert face_inputs[0].type == "tensor(float)" and isinstance(shape[1], int) and isinstance(shape[2], int)
    assert shape[3] == 3 and faces.shape[1:] == (shape[1], shape[2], 3)
    out = sess.run(None, {"in_face:0": faces.astype(np.float32)})
    assert len(out) == 3
    return out


def test_dfm_follows_deepfacelives_contract(dfms, real_faces):
    from twoface.export.framing import dfl_crop_matrix
    from twoface.faces import align

    default, _ = dfms
    proto = onnx.load(str(default.output))
    assert default.output.suffix == ".dfm"
    assert proto.ir_version <= 9 and all(o.version <= 17 for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["twoface.format"] == "twoface-dfm" and meta["twoface.label"].startswith("synthetic:twoface/")
    assert meta["twoface.color_order"] == "BGR" and meta["twoface.dfl_coverage"] == "2.2"
    size = int(meta["twoface.dfm_size"])
    # what DeepFaceLive's aligner cuts at coverage 2.2 from the real frames: BGR, [0, 1]
    import cv2

    crops = np.stack([cv2.warpAffine(frame, dfl_crop_matrix(align.align_matrix(pts, 1, 0.5), size), (size, size),
                                     flags=cv2.INTER_CUBIC) for frame, pts in real_faces]) / 255.0
    face_mask, celeb, celeb_mask = _deepfacelive_run(default.output, crops)
    n = len(real_faces)
    assert face_mask.shape == (n, size, size, 1) and celeb.shape == (n, size, size, 3)
    assert celeb_mask.shape == (n, size, size, 1)
    for t in (face_mask, celeb, celeb_mask):
        assert t.dtype == np.float32 and t.min() >= 0.0 and t.max() <= 1.0
    # DeepFaceLive's crop reaches below the model's crop (it is centred on the nose, twoface's between
    # the eyes and the nose): there the masks are 0, so DeepFaceLive keeps the original pixels
    assert celeb_mask[:, -1].max() < 1e-3 and face_mask[:, -1].max() < 1e-3
    assert celeb_mask[:, size // 2].min() > 0.05 and celeb.std() > 0.02


def test_dfm_face_matches_twoface_conversion_of_the_same_aligned_face(dfms, real_faces, tiny_model):
    from twoface.device import choose
    from twoface.export.framing import dfl_crop_matrix
    from twoface.faces import align
    from twoface.models.swapper import Swapper

    default, own = dfms
    swapper = Swapper(tiny_model, choose("cpu", "fp32"))
    fr = swapper.framing
    crops = [align.warp(frame, align.align_matrix(pts, fr.input_size, fr.coverage), fr.input_size)
             for frame, pts in real_faces]
    ref_face, ref_mask = swapper(crops, "b")
    # at the model's own framing the DFM is the model: the same crop gives the same face and mask
    _, celeb, celeb_mask = _deepfacelive_run(own.output, np.stack(crops) / 255.0)
    assert np.abs(celeb - ref_face).max() <= 1e-3
    assert np.abs(celeb_mask[..., 0] - ref_mask).max() <= 1e-3
    # at DeepFaceLive's framing, the DFM's face warped back into twoface's crop is twoface's face
    import cv2

    size, out = int(own.outputs["out_celeb_face:0"][1]), fr.output_size
    diffs = []
    for (frame, pts), face, mask in zip(real_faces, ref_face, ref_mask):
        m_dfl = dfl_crop_matrix(align.align_matrix(pts, 1, 0.5), size)
        m_tf = align.align_matrix(pts, out, fr.coverage)
        dfl_crop = cv2.warpAffine(frame, m_dfl, (size, size), flags=cv2.INTER_CUBIC) / 255.0
        _, dfm_face, dfm_mask = _deepfacelive_run(default.output, dfl_crop[None])
        back = np.vstack([m_tf, [0, 0, 1]]) @ np.linalg.inv(np.vstack([m_dfl, [0, 0, 1]]))
        warped = cv2.warpAffine(dfm_face[0], back[:2], (out, out), flags=cv2.INTER_LINEAR)
        # compare where both crops overlap, away from the edges (bilinear there mixes in the border)
        inside = cv2.erode(cv2.warpAffine(np.ones((size, size), np.float32), back[:2], (out, out)),
                           np.ones((5, 5), np.uint8)) > 0.999
        assert inside.mean() > 0.6
        diffs.append(float(np.abs(warped - face)[inside].mean()))
        assert np.abs(cv2.warpAffine(dfm_mask[0, ..., 0], back[:2], (out, out)) - mask)[inside].mean() < 0.03
    print("DFM at DeepFaceLive framing vs twoface, mean abs diff per face:", diffs)
    assert max(diffs) < 0.03, diffs
