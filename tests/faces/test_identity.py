"""SFace identity embeddings on the real GRID speakers, and reference loading for --filter."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.errors import InputError, MissingDependency
from twoface.faces import Embedder, align, cosine, load_reference

GRID = {  # clip -> speaker (MANIFEST.md): G7 speaks in two clips
    "bbaf2n": "G1", "brbk7n": "G2", "lbax4n": "G3", "lbbc2a": "G4", "lrwp9a": "G5", "lwbsza": "G6",
    "pwij3p": "G7", "id2_vcd_swwp2s": "G7", "sbia1a": "G8", "sbwe5n": "G9", "swiz3n": "G10",
}


@pytest.fixture(scope="module")
def grid_embeddings(data_dir, read_frames, detector, landmarker, embedder):
    """Three embeddings per GRID clip (frames 0, 30, 60): (speakers, clips, embeddings)."""
    speakers, clips, items = [], [], []
    for clip, speaker in GRID.items():
        for f in read_frames(data_dir / f"multi_identity/grid/{clip}.mpg", every=30, limit=3):
            lm = landmarker.landmarks(f, detector.detect(f)[0])
            items.append((f, lm.points))
            speakers.append(speaker)
            clips.append(clip)
    return np.array(speakers), np.array(clips), embedder.embed_many(items)


def test_embeddings_are_unit_128_vectors(grid_embeddings):
    _, _, emb = grid_embeddings
    assert emb.shape == (33, 128) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_grid_speakers_are_separated(grid_embeddings):
    """Same-speaker cosine beats different-speaker cosine for ≥ 99 % of (same, different) pairs."""
    speakers, _, emb = grid_embeddings
    sim = cosine(emb, emb)
    iu = np.triu_indices(len(emb), 1)
    same = (speakers[:, None] == speakers[None, :])[iu]
    s = sim[iu]
    frac = (s[same][:, None] > s[~same][None, :]).mean()
    assert frac >= 0.99, (f"only {frac:.4f} of pairs ordered; "
                          f"same min {s[same].min():.2f}, different max {s[~same].max():.2f}")


def test_g7_two_clips_match(grid_embeddings):
    speakers, clips, emb = grid_embeddings
    a, b = emb[clips == "pwij3p"], emb[clips == "id2_vcd_swwp2s"]
    cross = cosine(a, b)
    others = cosine(a, emb[speakers != "G7"])
    assert cross.min() > 0.6 and cross.min() > others.max()


def test_batched_single_and_five_point_embeddings_agree(grid_face, embedder):
    frame, det, lm = grid_face
    one = embedder.embed(frame, lm.points)
    crops = np.stack([align.identity_crop(frame, lm.points)] * 3)
    assert np.abs(embedder.embed_aligned(crops) - one).max() < 1e-4
    assert cosine(embedder.embed(frame, det.points5), one) > 0.85  # detector points: a quick reference
    assert cosine(one, one) == pytest.approx(1.0)


def test_identity_from_an_aligned_face_matches_the_frame_crop(grid_face, embedder):
    frame, _, lm = grid_face
    for size, coverage in [(256, 0.75), (192, 1.0)]:
        face = align.warp(frame, align.align_matrix(lm.points, size, coverage), size)
        crop = align.identity_from_aligned(face, coverage)
        direct = align.identity_crop(frame, lm.points)
        assert crop.shape == (112, 112, 3)
        assert np.abs(crop.astype(float) - direct).mean() < 3
        assert cosine(embedder.embed_aligned(crop[None])[0], embedder.embed_aligned(direct[None])[0]) > 0.98


def test_new_and_classic_opencv_engines_agree(grid_face):
    """The faster new-engine run is the same network as the classic engine the design names."""
    frame, _, lm = grid_face
    crop = align.identity_crop(frame, lm.points)[None]
    with Embedder(engine="classic") as classic:
        ref = classic.embed_aligned(crop)
    with Embedder(engine="new") as new:
        assert np.abs(new.embed_aligned(crop) - ref).max() < 1e-4


def test_an_opencv_without_the_pinned_engines_is_one_clear_error(monkeypatch):
    """OpenCV 5.1 has no ENGINE_NEW/CLASSIC: a user with it installed gets the version to install, exit 3."""
    monkeypatch.delattr(cv2.dnn, "ENGINE_CLASSIC")
    with pytest.raises(MissingDependency, match=r"opencv-python-headless>=5\.0,<5\.1") as err:
        Embedder()
    assert cv2.__version__ in str(err.value) and err.value.exit_code == 3


def test_level_the_roll_before_embedding(grid_face, embedder):
    """A face turned 90° in the image gives the same identity (the crop is levelled first)."""
    frame, _, lm = grid_face
    turned = np.ascontiguousarray(np.rot90(frame))
    w = frame.shape[1]
    pts_turned = np.stack([lm.points[:, 1], w - 1 - lm.points[:, 0]], axis=1)
    assert cosine(embedder.embed(turned, pts_turned), embedder.embed(frame, lm.points)) > 0.95


def test_embed_aligned_rejects_wrong_sizes(embedder):
    with pytest.raises(ValueError):
        embedder.embed_aligned(np.zeros((1, 100, 100, 3), np.uint8))
    assert embedder.embed_aligned([]).shape == (0, 128)


def test_load_reference_from_a_photo_picks_the_largest_face(data_dir, tmp_path, detector, landmarker, embedder):
    photo = data_dir / "convert/two_people_obama_biden.jpg"
    img = cv2.imread(str(photo))
    faces = detector.detect(img)
    assert len(faces) == 2
    big = max(faces, key=lambda d: d.bbox[2] * d.bbox[3])
    small = min(faces, key=lambda d: d.bbox[2] * d.bbox[3])
    ref = load_reference(photo, detector=detector, landmarker=landmarker, embedder=embedder)
    e_big = embedder.embed(img, landmarker.landmarks(img, big).points)
    e_small = embedder.embed(img, landmarker.landmarks(img, small).points)
    assert cosine(ref, e_big) > 0.99 > 0.5 > cosine(ref, e_small)
    # only the smaller face, shrunk further: still found, and it is that person
    x, y, w, h = (int(v) for v in small.bbox)
    crop = img[max(0, y - h): y + 2 * h, max(0, x - w): x + 2 * w]
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), crop)
    assert cosine(load_reference(path, embedder=embedder), e_small) > 0.8


def test_load_reference_reads_a_face_png(grid_face, tmp_path, embedder):
    from twoface.store import FaceMeta, write_face_png

    frame, _, lm = grid_face
    m = align.align_matrix(lm.points, 256, 0.75)
    face = align.warp(frame, m, 256)
    stored = np.eye(128, dtype=np.float32)[3]
    meta = FaceMeta(source_path="x.mpg", source_fingerprint="abc", frame=0, face=0, size=256, coverage=0.75,
                    matrix=m.tolist(), landmarks=align.transform_points(lm.points, m).tolist(),
                    identity=stored.tolist())
    write_face_png(tmp_path / "with_identity.png", face, meta)
    assert np.allclose(load_reference(tmp_path / "with_identity.png"), stored)
    # no stored identity: it is computed from the PNG's own aligned landmarks
    meta.identity = None
    write_face_png(tmp_path / "no_identity.png", face, meta)
    got = load_reference(tmp_path / "no_identity.png", embedder=embedder)
    assert cosine(got, embedder.embed(frame, lm.points)) > 0.95


def test_load_reference_errors_name_the_file(data_dir, tmp_path, detector, landmarker, embedder):
    with pytest.raises(InputError, match="no face") as err:
        load_reference(data_dir / "convert/no_face_coffee.png", detector=detector, landmarker=landmarker,
                       embedder=embedder)
    assert "no_face_coffee.png" in str(err.value)
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(InputError, match="notes.jpg"):
        load_reference(bad)
    with pytest.raises(InputError, match="missing.jpg"):
        load_reference(tmp_path / "missing.jpg")
    with pytest.raises(InputError):
        load_reference(tmp_path)
