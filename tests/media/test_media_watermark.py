"""The watermark: invisible where the eye would see it, detected after every listed attack, never on real clips.

The marked clip is 3.5 s of the real Pexels dev clip, watermarked and written
by the real video writer (H.264 CRF 18, as convert writes); each attack then
works on the decoded frames (tests/watermark_attacks.py) and detection pools
one second of the result.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.media import detect, detect_video, embed, open_media, open_writer
from twoface.media.watermark import THRESHOLD, detect_frames, false_positive_bound
from watermark_attacks import ATTACKS, attack, flat_fields

CLIP = "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"
FIRST, COUNT = 96, 84  # frames 4 s .. 7.5 s of the clip (3.5 s at 23.976 fps)


@pytest.mark.parametrize("name", list(flat_fields()))
def test_flat_fields_change_by_at_most_one_level(name):
    frame = flat_fields()[name]
    diff = np.abs(embed(frame).astype(int) - frame)
    assert diff.max() <= 1, (name, diff.max())


def test_flat_areas_of_real_frames_are_untouched_and_texture_carries_the_mark(data_dir):
    """8×8 blocks with luma variance < 2 (green screen, sky): PSNR >= 55 dB, < 2 % of their pixels change by > 1.

    (Not zero: the mask is smooth, so flat blocks touching strong texture or
    an edge can get a little of their neighbour's mark.)
    """
    for rel in ["train/person_b_cremad_actor1001/1001_DFA_SAD_XX.flv", "convert/no_face_caminandes.mp4", CLIP]:
        frame = [f.image for _, f in zip(range(31), open_media(data_dir / rel).frames())][-1]
        marked = embed(frame)
        assert marked.shape == frame.shape and marked.dtype == np.uint8
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
        h, w = (gray.shape[0] // 8) * 8, (gray.shape[1] // 8) * 8
        var = gray[:h, :w].reshape(h // 8, 8, w // 8, 8).var(axis=(1, 3))
        flat = np.kron(var < 2, np.ones((8, 8), bool))
        diff = np.abs(marked[:h, :w].astype(int) - frame[:h, :w]).max(axis=2)
        assert flat.mean() > 0.02, rel
        err = (marked[:h, :w].astype(float) - frame[:h, :w])[flat]
        flat_psnr = 10 * np.log10(255 ** 2 / max(1e-12, float(np.mean(err ** 2))))
        assert flat_psnr >= 55 and (diff[flat] > 1).mean() < 0.02, (rel, flat_psnr, (diff[flat] > 1).mean())
        assert cv2.PSNR(marked, frame) >= 40, rel


@pytest.fixture(scope="module")
def marked_clip(data_dir, tmp_path_factory):
    """(decoded frames of the marked clip as written by the real writer, fps, unmarked source frames)."""
    src = open_media(data_dir / CLIP)
    info = src.info
    frames = [f.image for f in src.frames(start=FIRST) if f.index < FIRST + COUNT]
    out = tmp_path_factory.mktemp("wm") / "marked.mp4"
    with open_writer(out, fps=info.rate, size=(info.width, info.height), watermark=True) as w:
        for i, f in enumerate(frames):
            w.write(f, i)
    decoded = [f.image for f in open_media(out).frames()]
    assert len(decoded) == len(frames)
    return decoded, info.fps, frames, out


@pytest.mark.parametrize("name", ATTACKS)
def test_detected_after_attack(name, marked_clip, tmp_path):
    """One second of the attacked clip (across the cut for cut_2s) is detected, at the right scale and mirror."""
    frames, fps, _, _ = marked_clip
    got = attack(name, frames, fps, tmp_path)
    n = round(15 if name == "fps_25_to_15" else fps)
    start = max(0, len(got) // 2 - n // 2) if name == "cut_2s" else 0
    result = detect_frames(got[start:start + n])
    assert result.frames == n
    assert result.found, (name, result)
    assert result.flipped == (name == "flip")
    assert result.scale == pytest.approx({"scale_0.5": 0.5, "scale_0.75": 0.75}.get(name, 1.0))


def test_unmarked_clip_is_not_detected_after_the_same_processing(marked_clip, tmp_path):
    _, fps, plain, _ = marked_clip
    for name in ("none", "scale_0.75", "flip"):
        assert detect_frames(attack(name, plain, fps, tmp_path)[:round(fps)]).score < THRESHOLD - 1, name


def test_no_false_positive_on_any_dev_window(dev_decoded):
    """Every 1-second window of all 25 real dev files (and each still image) scores well below the threshold."""
    scores = np.array([s for d in dev_decoded.values() for s in d.scores])
    assert len(scores) > 80
    assert scores.max() < THRESHOLD - 1.5, scores.max()
    assert false_positive_bound() <= 1.01e-6


def test_detect_video_pools_and_reports_frames(marked_clip, data_dir):
    _, _, _, path = marked_clip
    found = detect_video(path, max_frames=24)
    assert found.found and found.frames == 24
    for rel in [CLIP, "multi_identity/grid/bbaf2n.mpg", "convert/no_face_caminandes.mp4"]:
        plain = detect_video(data_dir / rel, max_frames=24)
        assert not plain.found and plain.frames == 24, rel


def test_tiny_frames_are_not_claimed():
    tiny = np.full((40, 300, 3), 128, np.uint8)
    tiny[::2] = 90
    result = detect(embed(tiny))
    assert result.score == 0.0 and not result.found
