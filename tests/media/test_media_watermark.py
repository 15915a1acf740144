"""The invisible watermark: invisible (PSNR), survives H.264, absent from every real dev clip."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.media import detect, detect_video, embed, open_media, open_writer
from twoface.media.watermark import THRESHOLD

CLIPS = ["train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4",
         "train/person_b_cremad_actor1001/1001_DFA_NEU_XX.flv",
         "multi_identity/grid/bbaf2n.mpg",
         "convert/no_face_caminandes.mp4"]


def test_psnr_of_marked_frames_is_at_least_40_db(data_dir):
    for rel in ["convert/two_people_obama_biden.jpg", "convert/no_face_coffee.png", CLIPS[0]]:
        frame = next(open_media(data_dir / rel).frames()).image
        marked = embed(frame)
        assert marked.shape == frame.shape and marked.dtype == np.uint8
        assert not np.array_equal(marked, frame)
        assert cv2.PSNR(marked, frame) >= 40
        assert detect(marked).found and not detect(frame).found


@pytest.mark.parametrize("quality", [18, 23])
def test_marked_video_is_detected_after_h264(tmp_path, data_dir, quality):
    """Every frame, after the writer's own H.264 encode (CRF 18 default, and 23), with padding to even sizes."""
    for rel in CLIPS[1:]:
        src = open_media(data_dir / rel)
        info = src.info
        out = tmp_path / f"{quality}_{data_dir.joinpath(rel).stem}.mp4"
        with open_writer(out, fps=info.rate, size=(info.width, info.height), time_base=info.time_base,
                         quality=quality, watermark=True) as w:
            for f in src.frames():
                if f.index >= 40:
                    break
                w.write(f.image, f.index, f.time)
        scores = [detect(f.image).score for f in open_media(out).frames()]
        assert len(scores) == 40
        assert min(scores) > THRESHOLD + 4, (rel, quality, min(scores))
        video = detect_video(out)
        assert video.found and video.frames == 40


def test_no_false_positive_on_any_dev_frame(dev_decoded):
    """All ~2070 frames of the 25 real dev files score far below the threshold."""
    scores = np.array([s for d in dev_decoded.values() for s in d.scores])
    assert len(scores) > 2000
    assert scores.max() < THRESHOLD - 2
    assert abs(scores.mean()) < 0.5 and 0.5 < scores.std() < 1.5  # behaves like the N(0, 1) it should


def test_detect_video_is_negative_on_real_clips(data_dir):
    for rel in CLIPS:
        result = detect_video(data_dir / rel)
        assert not result.found and result.frames > 0


def test_tiny_frames_are_not_claimed():
    tiny = np.full((40, 300, 3), 128, np.uint8)
    result = detect(embed(tiny))
    assert result.score == 0.0 and not result.found
