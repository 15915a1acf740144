"""The torch port of SFace against OpenCV's run of the same ONNX file, on real aligned dev faces."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from twoface.faces import align
from twoface.faces.sface_torch import BLOCK_NAMES, crop_theta, load_onnx, load_sface_torch, to_sface
from twoface.store.metadata import list_face_files, read_face
from twoface_testing import cached_extract

GRID = ("bbaf2n", "brbk7n", "lbax4n")  # G1, G2, G3


@pytest.fixture(scope="module")
def dev_faces(data_dir, shared_cache) -> list[tuple[np.ndarray, float]]:
    """A handful of real aligned faces (BGR 256 px, coverage): three GRID speakers and person B, 3 frames each."""
    clips = [data_dir / f"multi_identity/grid/{c}.mpg" for c in GRID]
    clips.append(data_dir / "train/person_b_cremad_actor1001/1001_DFA_NEU_XX.flv")
    folder = cached_extract(shared_cache, clips, every=25) / "faces"
    faces = [read_face(p) for p in list_face_files(folder)]
    assert len(faces) >= 10
    return [(bgr, float(meta.coverage)) for bgr, meta in faces]


def _rgb01(bgr112: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(bgr112[None, :, :, ::-1])).permute(0, 3, 1, 2).float() / 255


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def test_embeddings_match_opencv_on_the_same_crops(dev_faces, embedder):
    """The same 112 px ArcFace crops through OpenCV (the int8 file as extract runs it) and through torch."""
    crops = np.stack([align.identity_from_aligned(bgr, cov) for bgr, cov in dev_faces])
    ref = embedder.embed_aligned(crops)
    net = load_sface_torch("cpu")
    with torch.no_grad():
        got = net(torch.cat([_rgb01(c) for c in crops])).numpy()
    cos = _cos(got, ref)
    assert cos.min() >= 0.999, f"cosine to OpenCV per face: {np.round(cos, 5)}"
    # and it is the identity, not a constant: different people stay apart
    assert float(_cos(got[:1], got[-1:])[0]) < 0.9


def test_loader_freezes_and_caches():
    net = load_sface_torch("cpu")
    assert net is load_sface_torch("cpu")
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    x = torch.rand(2, 3, 112, 112, requires_grad=True)
    net(x).sum().backward()  # frozen weights, but the gradient reaches the input
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_features_are_the_network_s_own_intermediate_maps():
    net = load_sface_torch("cpu")
    x = torch.rand(2, 3, 112, 112)
    with torch.no_grad():
        maps = net.features(x, ("conv_4", "conv_8", "conv_14"), embed=True)
        full = net(x)
    assert maps["conv_4"].shape == (2, 128, 56, 56) and maps["conv_8"].shape == (2, 512, 14, 14)
    assert maps["conv_14"].shape == (2, 1024, 7, 7)
    assert torch.allclose(maps["embedding"], full, atol=1e-5)
    with pytest.raises(ValueError, match="unknown SFace layer"):
        net.features(x, ("conv_99",))
    assert BLOCK_NAMES[0] == "conv_1" and BLOCK_NAMES[-1] == "conv_14"


def test_grid_sample_alignment_matches_opencv_crops(dev_faces, embedder):
    """``to_sface`` (differentiable, from the aligned crop's framing) gives what OpenCV's identity crop gives."""
    net = load_sface_torch("cpu")
    bgr, cov = dev_faces[0]
    faces = torch.cat([_rgb01(b) for b, _ in dev_faces])
    crops = to_sface(faces, crop_theta(cov, bgr.shape[0]))
    opencv = np.stack([align.identity_from_aligned(b, c) for b, c in dev_faces])
    diff = (crops - torch.cat([_rgb01(c) for c in opencv])).abs().mean()
    assert float(diff) < 0.01, f"mean pixel difference {float(diff):.4f}"
    with torch.no_grad():
        cos = _cos(net(crops).numpy(), embedder.embed_aligned(opencv))
    assert cos.min() > 0.99, np.round(cos, 4)


def test_crop_theta_undoes_the_augmentation(dev_faces):
    """A face rotated, zoomed, shifted and flipped as the augmenter does gives back the upright SFace crop."""
    from twoface.data.augment import affine_grid, affine_theta

    bgr, cov = dev_faces[0]
    face = _rgb01(bgr)
    aug = affine_theta(torch.tensor([8.0]), torch.tensor([1.04]), torch.tensor([0.06]), torch.tensor([-0.05]),
                       torch.tensor([True]))
    augmented = torch.nn.functional.grid_sample(face, affine_grid(aug, 256), mode="bilinear",
                                                padding_mode="border", align_corners=False)
    upright = to_sface(face, crop_theta(cov, 256))
    undone = to_sface(augmented, crop_theta(cov, 256, aug))
    naive = to_sface(augmented, crop_theta(cov, 256))
    err, naive_err = float((undone - upright).abs().mean()), float((naive - upright).abs().mean())
    assert err < 0.015 and err < naive_err / 3, (err, naive_err)


def test_a_foreign_graph_is_refused(tmp_path):
    from twoface.errors import ModelError

    bad = tmp_path / "not_sface.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelError) as err:
        load_onnx(bad)
    assert "not_sface.onnx" in str(err.value)
