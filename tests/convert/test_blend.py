"""Mask shaping and pasting a face back into a real frame."""
from __future__ import annotations

import cv2
import numpy as np
from convert_fixtures import face_crops, frames, oval_mask  # noqa: F401 (fixtures)

from twoface.convert.blend import MaskOptions, blur_mask, border_fade, erode_mask, paste, shape_mask, warp_back


def _similarity(cx, cy, scale, angle_deg, size):
    """frame -> aligned: the box of side ``size/scale`` centred at (cx, cy), rotated by angle."""
    M = cv2.getRotationMatrix2D((cx, cy), angle_deg, scale)
    M[:, 2] += np.array([size / 2 - cx, size / 2 - cy])
    return M


def test_erode_shrinks_and_negative_erode_grows(oval_mask):
    area = oval_mask.sum()
    assert erode_mask(oval_mask, 5).sum() < area * 0.85
    assert erode_mask(oval_mask, -5).sum() > area * 1.1
    assert erode_mask(oval_mask, 0) is oval_mask


def test_blur_softens_the_edge_only(oval_mask):
    soft = blur_mask(oval_mask, 10, passes=2)
    assert 0 <= soft.min() and soft.max() <= 1
    partial = ((soft > 0.02) & (soft < 0.98)).sum()
    assert partial > 4 * ((oval_mask > 0.02) & (oval_mask < 0.98)).sum() + 100
    assert soft[68, 64] > 0.99  # the centre stays opaque
    assert np.array_equal(blur_mask(oval_mask, 0), oval_mask)


def test_border_fade_reaches_zero_at_the_crop_edge():
    ones = np.ones((64, 64), np.float32)
    faded = border_fade(ones, 10)
    assert faded[0].max() == 0 and faded[:, -1].max() == 0
    assert faded[32, 32] == 1.0
    shaped = shape_mask(ones, MaskOptions(kind="none", erode=0, blur=0))
    assert shaped[0, 0] == 0 and shaped[32, 32] == 1.0


def test_zero_mask_leaves_the_frame_byte_identical(frames, face_crops):
    frame = frames["a"].copy()
    M = _similarity(470, 170, 128 / 220, 10, 128)
    assert not paste(frame, face_crops["b"], np.zeros((128, 128), np.float32), M)  # nothing to paste
    assert np.array_equal(frame, frames["a"])
    half = np.zeros((128, 128), np.float32)
    half[:, 64:] = 1.0
    assert paste(frame, face_crops["b"], half, M)
    changed = np.any(frame != frames["a"], axis=2)
    # only pixels that map to the mask's right half changed: none left of the face centre line
    assert changed.any() and not changed[:, :400].any()


def test_pasting_a_frames_own_face_back_is_a_sub_pixel_round_trip(frames):
    frame = frames["a"]
    size = 128
    M = _similarity(470.3, 170.7, size / 220, 12.5, size)
    own = cv2.warpAffine(frame, M, (size, size), flags=cv2.INTER_CUBIC).astype(np.float32) / 255
    out = frame.copy()
    mask = np.ones((size, size), np.float32)
    mask = border_fade(mask, 5)
    assert paste(out, own, mask, M)
    # inside the face the round trip loses only resampling detail
    inner = (slice(120, 220), slice(420, 520))
    err = np.abs(out[inner].astype(float) - frame[inner].astype(float)).mean()
    assert err < 4.0
    # far outside the face box nothing changed
    assert np.array_equal(out[:, :300], frame[:, :300])


def test_paste_changes_only_the_masked_region(frames, face_crops, oval_mask):
    frame = frames["a"].copy()
    M = _similarity(470, 170, 128 / 220, 0, 128)
    assert paste(frame, face_crops["b"], oval_mask, M)
    changed = np.any(frame != frames["a"], axis=2)
    ys, xs = np.nonzero(changed)
    # the oval (40x52 px at 128) maps to about 69x90 px of the frame around the centre
    assert changed.sum() > 3000
    assert xs.min() >= 470 - 75 and xs.max() <= 470 + 75
    assert ys.min() >= 170 - 100 and ys.max() <= 170 + 100


def test_warp_back_clips_to_the_frame_and_skips_faces_outside_it(frames, face_crops):
    shape = frames["a"].shape
    M_edge = _similarity(630, 350, 128 / 220, 0, 128)  # face centred near the bottom-right corner
    x0, y0, bgr, alpha = warp_back(face_crops["b"], np.ones((128, 128), np.float32), M_edge, shape)
    assert x0 + alpha.shape[1] <= shape[1] and y0 + alpha.shape[0] <= shape[0]
    assert bgr.shape == (*alpha.shape, 3) and bgr.dtype == np.uint8 and alpha.dtype == np.float32
    M_out = _similarity(5000, 5000, 1.0, 0, 128)
    assert warp_back(face_crops["b"], np.ones((128, 128), np.float32), M_out, shape) is None
    frame = frames["a"].copy()
    assert not paste(frame, face_crops["b"], np.ones((128, 128), np.float32), M_out)


def test_seamless_clone_blends_at_frame_edges_too(frames, face_crops, oval_mask):
    for cx, cy in [(470, 170), (600, 330)]:
        frame = frames["a"].copy()
        M = _similarity(cx, cy, 128 / 220, 0, 128)
        mask = shape_mask(oval_mask, MaskOptions(blur=5))
        assert paste(frame, face_crops["b"], mask, M, seamless=True)
        assert np.any(frame != frames["a"])
        # seamless adapts B's green-lit face towards A's frame: the pasted region's mean colour
        # moves towards the original's compared with a plain paste
        plain = frames["a"].copy()
        paste(plain, face_crops["b"], mask, M, seamless=False)
        sel = np.any(plain != frames["a"], axis=2)
        d_seam = np.abs(frame[sel].mean(0) - frames["a"][sel].mean(0)).mean()
        d_plain = np.abs(plain[sel].mean(0) - frames["a"][sel].mean(0)).mean()
        assert d_seam < d_plain
