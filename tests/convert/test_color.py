"""Colour matchers on two real faces: B's face is matched to A's colours inside the mask."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from convert_fixtures import face_crops, frames, oval_mask  # noqa: F401 (fixtures)

from twoface.convert.color import COLOR_MATCHERS, get_color_matcher
from twoface.errors import TwofaceError


def _inside(img, mask):
    return img[mask >= 0.5]


def test_avg_matches_the_mean_inside_the_mask(face_crops, oval_mask):
    face, target = face_crops["b"], face_crops["a"]
    before = np.abs(_inside(face, oval_mask).mean(0) - _inside(target, oval_mask).mean(0)).max()
    out = get_color_matcher("avg")(face, target, oval_mask)
    after = np.abs(_inside(out, oval_mask).mean(0) - _inside(target, oval_mask).mean(0)).max()
    assert before > 0.03  # the two real faces really differ in colour
    assert after < 0.01  # clipping at 0/1 may cost a little
    assert out.dtype == np.float32 and out.shape == face.shape


def _cdf_gap(a, b):
    bins = np.linspace(0, 1, 65)
    ca = np.cumsum(np.histogram(a, bins)[0]) / a.size
    cb = np.cumsum(np.histogram(b, bins)[0]) / b.size
    return float(np.abs(ca - cb).max())


def test_match_hist_matches_each_channel_distribution(face_crops, oval_mask):
    face, target = face_crops["b"], face_crops["a"]
    out = get_color_matcher("match-hist")(face, target, oval_mask)
    for c in range(3):
        before = _cdf_gap(_inside(face, oval_mask)[:, c], _inside(target, oval_mask)[:, c])
        after = _cdf_gap(_inside(out, oval_mask)[:, c], _inside(target, oval_mask)[:, c])
        assert before > 0.15
        assert after < 0.08 and after < before / 4, (c, before, after)


def test_color_transfer_matches_lab_mean_and_spread(face_crops, oval_mask):
    face, target = face_crops["b"], face_crops["a"]
    out = get_color_matcher("color-transfer")(face, target, oval_mask)
    lab = lambda im: _inside(cv2.cvtColor(im, cv2.COLOR_BGR2LAB), oval_mask)  # noqa: E731
    t, o, f = lab(target), lab(out), lab(face)
    assert np.abs(f.mean(0) - t.mean(0)).max() > 5  # they differ before
    assert np.abs(o.mean(0) - t.mean(0)).max() < 1.5
    assert np.abs(o.std(0) - t.std(0)).max() < 1.5


def test_statistics_ignore_pixels_outside_the_mask(face_crops, oval_mask):
    face, target = face_crops["b"], face_crops["a"].copy()
    for name in ("avg", "match-hist", "color-transfer"):
        ref = COLOR_MATCHERS[name](face, target, oval_mask)
        changed = target.copy()
        changed[oval_mask < 0.5] = 1.0  # paint the background white
        assert np.array_equal(COLOR_MATCHERS[name](face, changed, oval_mask), ref), name


def test_none_and_seamless_leave_the_face_alone_and_unknown_names_fail(face_crops, oval_mask):
    face = face_crops["b"]
    for name in ("none", "seamless"):
        assert np.array_equal(get_color_matcher(name)(face, face_crops["a"], oval_mask), face)
    with pytest.raises(TwofaceError, match="match-hist"):
        get_color_matcher("rainbow")


def test_an_empty_mask_changes_nothing(face_crops):
    empty = np.zeros((128, 128), np.float32)
    for name in ("avg", "match-hist", "color-transfer"):
        assert np.array_equal(COLOR_MATCHERS[name](face_crops["b"], face_crops["a"], empty), face_crops["b"])


def test_default_colour_matching_keeps_a_soft_swap_soft(face_crops, oval_mask):
    """Issue 14: match-hist, the old default, stretched a soft swap's histogram onto the sharp original's,
    which adds contrast the model never drew (dark eye sockets); the default mean shift adds none."""
    from twoface.convert.options import ConvertOptions
    from twoface.evaluate.metrics import sharpness

    target = face_crops["b"]
    soft = cv2.GaussianBlur(target, (0, 0), 3.0)  # what an early model renders: the face, blurred
    soft = np.clip((soft - soft.mean()) * 0.6 + soft.mean(), 0, 1).astype(np.float32)  # and flattened
    default = get_color_matcher(ConvertOptions().color)(soft, target, oval_mask)
    hist = get_color_matcher("match-hist")(soft, target, oval_mask)
    luma = lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[oval_mask >= 0.5].std()  # noqa: E731
    assert ConvertOptions().color == "avg"
    assert luma(default) == pytest.approx(luma(soft), rel=0.02)  # contrast as drawn
    assert luma(hist) > 1.4 * luma(soft)  # contrast stretched onto the original's
    assert sharpness(hist, oval_mask) > 1.5 * sharpness(default, oval_mask)
