"""Face PNG metadata: JSON in an iTXt chunk survives a round trip and is refused cleanly when absent."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.errors import InputError
from twoface.media.png import read_text_chunks
from twoface.store.metadata import FaceMeta, read_face, read_face_meta, write_face_png


def sample_meta() -> FaceMeta:
    rng = np.random.default_rng(0)
    return FaceMeta(source_path="/data/clip.mp4", source_fingerprint="99:ff", frame=42, face=1, size=64,
                    coverage=0.75, matrix=[[0.5, 0.1, 3.0], [-0.1, 0.5, 4.0]],
                    landmarks=np.round(rng.random((478, 2)) * 64, 2).tolist(), pose=[10.0, -5.0, 2.5],
                    identity=np.round(rng.random(128), 6).tolist(), masks={"extended": [[[1.0, 2.0], [30.0, 2.0], [15.0, 40.0]]]},
                    blur=33.3, blendshapes=[0.1] * 52)


def test_round_trip(tmp_path, data_dir):
    frame = cv2.imread(str(data_dir / "convert/two_people_obama_biden.jpg"))
    face = cv2.resize(frame[100:400, 200:500], (64, 64))
    meta = sample_meta()
    path = tmp_path / "f.png"
    write_face_png(path, face, meta)
    image, got = read_face(path)
    np.testing.assert_array_equal(image, face)  # PNG is lossless
    assert got == meta
    assert got.key == ("99:ff", 42, 1)
    assert read_face_meta(path).to_json()["source"] == {"path": "/data/clip.mp4", "fingerprint": "99:ff",
                                                         "frame": 42, "face": 1}
    # other tools see a normal PNG with one twoface text entry
    assert set(read_text_chunks(path.read_bytes())) == {"twoface"}
    assert cv2.imread(str(path)).shape == (64, 64, 3)


def test_png_without_metadata(tmp_path):
    path = tmp_path / "plain.png"
    cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="no twoface metadata") as err:
        read_face(path)
    assert "plain.png" in str(err.value)


def test_not_a_png(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"GIF89a nonsense")
    with pytest.raises(InputError, match="not a PNG"):
        read_face_meta(path)


def test_truncated_png(tmp_path):
    path = tmp_path / "t.png"
    write_face_png(path, np.full((64, 64, 3), 128, np.uint8), sample_meta())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError):
        read_face(path)
