"""FaceSet on real face PNGs: the cache, the holdout split, the fingerprint, and every bad input."""
from __future__ import annotations

import logging
import shutil

import cv2
import numpy as np
import pytest
import torch

from twoface.data import FaceSet
from twoface.errors import InputError, TwofaceError
from twoface.store import read_face


@pytest.fixture(scope="module")
def set_a(face_dirs) -> FaceSet:
    return FaceSet(face_dirs["a"], 64)


def test_cache_shapes_dtypes_and_content(set_a, face_dirs):
    n = len(set_a)
    assert n == 24
    assert set_a.images.shape == (n, 3, 64, 64) and set_a.images.dtype == torch.uint8
    assert set_a.masks.shape == (n, 1, 64, 64) and set_a.masks.dtype == torch.uint8
    assert set_a.landmarks.shape == (n, 478, 2) and set_a.landmarks.dtype == torch.float32
    bgr, meta = read_face(set_a.files[3])
    expected = cv2.cvtColor(cv2.resize(bgr, (64, 64), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    assert np.array_equal(set_a.images[3].permute(1, 2, 0).numpy(), expected)  # RGB, INTER_AREA
    assert np.allclose(set_a.landmarks[3].numpy(), meta.landmarks_array() * 64 / meta.size, atol=1e-4)
    # the face mask covers the nose tip and not the image corner
    nose = set_a.landmarks[:, 1].round().long()
    assert all(set_a.masks[i, 0, nose[i, 1], nose[i, 0]] > 200 for i in range(n))
    assert set_a.masks[:, 0, 0, 0].max() < 30


def test_holdout_split_sizes_and_determinism(face_dirs, set_a):
    assert (len(set_a.train), len(set_a.valid)) == (23, 1)
    assert set(set_a.train.indices.tolist()) | set(set_a.valid.indices.tolist()) == set(range(24))
    assert torch.equal(set_a.valid.images, set_a.images[set_a.valid.indices])
    quarter = FaceSet(face_dirs["a"], 32, holdout=0.25, seed=3)
    assert (len(quarter.train), len(quarter.valid)) == (18, 6)
    again = FaceSet(face_dirs["a"], 32, holdout=0.25, seed=3)
    assert again.valid.files == quarter.valid.files
    other = FaceSet(face_dirs["a"], 32, holdout=0.25, seed=4)
    assert other.valid.files != quarter.valid.files
    none = FaceSet(face_dirs["a"], 32, holdout=0)
    assert (len(none.train), len(none.valid)) == (24, 0)
    with pytest.raises(TwofaceError, match="holdout"):
        FaceSet(face_dirs["a"], 32, holdout=1.5)


def test_split_is_stable_when_faces_are_deleted(face_dirs, set_a, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(face_dirs["a"], folder)
    before = FaceSet(folder, 32)
    victim = before.train.files[5]
    victim.unlink()
    after = FaceSet(folder, 32)
    assert [p.name for p in after.valid.files] == [p.name for p in before.valid.files]
    assert after.fingerprint != before.fingerprint
    assert before.fingerprint == FaceSet(face_dirs["a"], 32).fingerprint == set_a.fingerprint


def test_two_faces_give_one_held_out(face_dirs, tmp_path):
    for p in sorted(face_dirs["b"].glob("*.png"))[:2]:
        shutil.copy(p, tmp_path / p.name)
    two = FaceSet(tmp_path, 32)
    assert (len(two.train), len(two.valid)) == (1, 1)


def test_check_enough(set_a):
    set_a.check_enough(16)
    with pytest.raises(InputError, match="only 23 training face.*fewer than the batch size 64") as err:
        set_a.check_enough(64)
    assert str(set_a.folder) in str(err.value)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(InputError, match="no such folder") as err:
        FaceSet(tmp_path / "nope", 64)
    assert "nope" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        FaceSet(tmp_path / "empty", 64)
    (tmp_path / "jpgs").mkdir()
    (tmp_path / "jpgs" / "face.jpg").write_bytes(b"not really")
    with pytest.raises(InputError, match=r"no face PNGs .*face\.jpg"):
        FaceSet(tmp_path / "jpgs", 64)


def test_pngs_without_metadata_are_counted_and_named(face_dirs, tmp_path):
    for p in sorted(face_dirs["b"].glob("*.png"))[:3]:
        shutil.copy(p, tmp_path / p.name)
    plain = cv2.imread(str(next(face_dirs["b"].glob("*.png"))))
    cv2.imwrite(str(tmp_path / "zz_plain1.png"), plain)
    cv2.imwrite(str(tmp_path / "zz_plain2.png"), plain)
    with pytest.raises(InputError, match=r"2 of 5 PNG\(s\) have no twoface metadata, e\.g\. zz_plain1\.png"):
        FaceSet(tmp_path, 64)


def test_corrupt_png_is_named(face_dirs, tmp_path, caplog):
    for p in sorted(face_dirs["b"].glob("*.png"))[:3]:
        shutil.copy(p, tmp_path / p.name)
    bad = sorted(tmp_path.glob("*.png"))[1]
    data = bytearray(bad.read_bytes())
    at = data.find(b"IDAT")
    data[at + 200:at + 260] = bytes(60)  # damage the pixels, keep the metadata chunk
    bad.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):  # one bad file is not a bad folder: named, skipped, counted
        fs = FaceSet(tmp_path, 64)
    assert len(fs) == 2 and bad not in fs.files
    assert [p for p, _ in fs.skipped] == [bad] and "damaged PNG" in fs.skipped[0][1]
    assert any(bad.name in r.getMessage() for r in caplog.records)
    for p in sorted(tmp_path.glob("*.png")):
        if p != bad:
            p.write_bytes(bad.read_bytes())
    with pytest.raises(InputError, match="damaged PNG") as err:  # nothing but damaged files: refused
        FaceSet(tmp_path, 64)
    assert "and 2 more bad file(s)" in str(err.value)


def test_mask_choices(face_dirs, set_a, tmp_path):
    none = FaceSet(face_dirs["b"], 32, mask="none")
    assert bool((none.masks == 255).all())
    comp = FaceSet(face_dirs["b"], 64, mask="components")
    ext = FaceSet(face_dirs["b"], 64)
    # the extended mask reaches up the forehead; components stop at the brows
    assert ext.masks.float().mean() > comp.masks.float().mean() > 20
    # a face without stored polygons gets them from its landmarks: the same mask up to 0.1 px rounding
    src = sorted(face_dirs["b"].glob("*.png"))[0]
    img, meta = read_face(src)
    meta.masks = {}
    from twoface.store import write_face_png

    write_face_png(tmp_path / src.name, img, meta)
    rebuilt = FaceSet(tmp_path, 64, holdout=0)
    diff = (rebuilt.masks[0].float() - ext.masks[ext.files.index(src)].float()).abs()
    assert diff.mean() < 1.0 and (diff > 32).float().mean() < 0.01, (diff.mean(), diff.max())
    with pytest.raises(InputError, match="unknown mask 'hair'") as err:
        FaceSet(tmp_path, 64, mask="hair")
    assert src.name in str(err.value)
