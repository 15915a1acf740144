"""Alignment geometry: known transforms are recovered, and real faces land on the template."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from twoface.faces import align


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[scale * math.cos(a), -scale * math.sin(a), tx],
                     [scale * math.sin(a), scale * math.cos(a), ty]])


@pytest.mark.parametrize("scale,angle,tx,ty", [(1.0, 0, 0, 0), (0.37, 33, 12.5, -40), (2.4, -170, 300, 7),
                                                (1.3, 90, -5, 5)])
def test_umeyama_recovers_a_known_similarity(scale, angle, tx, ty):
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 400, size=(30, 2))
    m = _similarity(scale, angle, tx, ty)
    got = align.umeyama(src, align.transform_points(src, m).astype(np.float64))
    assert np.abs(got - m).max() < 1e-3


def test_umeyama_never_returns_a_mirror():
    src = np.array([[0, 0], [10, 0], [0, 5], [3, 9]], float)
    mirrored = src * [-1, 1]
    m = align.umeyama(src, mirrored)
    assert np.linalg.det(m[:, :2]) > 0


def test_umeyama_rejects_coincident_points():
    with pytest.raises(ValueError):
        align.umeyama(np.ones((5, 2)), np.ones((5, 2)))


def test_template_at_identity_coverage_is_arcface_and_coverage_scales_about_the_centre():
    assert np.allclose(align.template(112, 0.5), align.ARCFACE_112)
    t75, t100 = align.template(256, 0.75), align.template(256, 1.0)
    eye_dist = lambda t: np.linalg.norm(t[1] - t[0])  # noqa: E731
    assert eye_dist(t100) < eye_dist(t75)  # more coverage shows more head: a smaller face
    assert eye_dist(t75) / eye_dist(t100) == pytest.approx(1.0 / 0.75)
    centre = np.array([128.0, 128.0])
    assert np.allclose((t75 - centre) * 0.75, (t100 - centre) * 1.0)
    with pytest.raises(ValueError):
        align.template(256, 0)


def test_align_matrix_is_equivariant_under_a_known_transform(grid_face):
    """Moving the face by a similarity S changes the alignment matrix by exactly S⁻¹."""
    _, _, lm = grid_face
    m0 = align.align_matrix(lm.points, 256, 0.75)
    s = _similarity(0.6, 27, 40, -13)
    moved = align.transform_points(lm.points, s)
    m1 = align.align_matrix(moved, 256, 0.75)
    expected = np.vstack([m0, [0, 0, 1]]) @ np.vstack([align.invert(s), [0, 0, 1]])
    assert np.abs(m1 - expected[:2]).max() < 1e-3


def test_transform_points_and_invert_round_trip():
    m = _similarity(1.7, -12, 5, 9)
    pts = np.array([[1, 2], [100, -3], [40.5, 33.25]], np.float32)
    back = align.transform_points(align.transform_points(pts, m), align.invert(m))
    assert np.abs(back - pts).max() < 1e-4


@pytest.mark.parametrize("scale", [2.0, 0.3])
def test_warp_puts_a_frame_point_where_the_matrix_says(scale):
    """A bright dot in the frame appears at M·p in the crop, enlarging and shrinking alike."""
    frame = np.zeros((600, 800, 3), np.uint8)
    p = np.array([410.0, 270.0])
    cv2.circle(frame, (410, 270), 6, (255, 255, 255), -1)
    m = _similarity(scale, 20, 0, 0)
    m[:, 2] = np.array([64.0, 64.0]) - m[:, :2] @ p  # the dot goes to the crop centre
    crop = align.warp(frame, m, 128)
    grey = crop[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:128, :128]
    centroid = np.array([(grey * xs).sum(), (grey * ys).sum()]) / grey.sum()
    assert np.abs(centroid - 64.0).max() < 0.35


def test_warp_antialiases_when_shrinking():
    """A fine checkerboard shrunk 6× must come out flat grey, not as aliasing patterns."""
    checker = ((np.indices((1200, 1200)).sum(0) % 2) * 255).astype(np.uint8)
    frame = np.dstack([checker] * 3)
    m = _similarity(1 / 6, 3, 0, 0)
    crop = align.warp(frame, m, 150)
    plain = cv2.warpAffine(frame, m, (150, 150), flags=cv2.INTER_LINEAR)
    assert abs(crop.mean() - 127.5) < 5
    assert crop.std() < 6 < plain.std()


def test_roll_degrees_signs_and_five_points():
    level = align.ARCFACE_112
    assert align.roll_degrees(level) == pytest.approx(-0.32, abs=0.05)  # the template is nearly level
    m = cv2.getRotationMatrix2D((56, 56), -30, 1.0)  # turn the face 30° clockwise on screen
    assert align.roll_degrees(align.transform_points(level, m)) == pytest.approx(30 - 0.32, abs=0.05)
    with pytest.raises(ValueError):
        align.five_points(np.zeros((7, 2)))


def test_real_faces_of_any_size_and_roll_land_on_the_template(grid_frame, detector, landmarker):
    """Eyes level and at the template's place, whatever the face's size and in-plane turn."""
    h, w = grid_frame.shape[:2]
    variants = []
    for scale, angle in [(1.0, 0), (0.55, 0), (1.8, 0), (1.0, 35), (1.4, -60)]:
        m, size = _canvas_similarity(w, h, scale, angle)
        variants.append(cv2.warpAffine(grid_frame, m, size, flags=cv2.INTER_LINEAR))
    target = align.template(256, 0.75)[:2]
    for img in variants:
        det = detector.detect(img)[0]
        lm = landmarker.landmarks(img, det)
        m = align.align_matrix(lm.points, 256, 0.75)
        eyes = align.five_points(align.transform_points(lm.points, m))[:2]
        assert np.abs(eyes - target).max() < 3.0
        assert abs(align.roll_degrees(align.transform_points(lm.points, m))) < 1.5


def _canvas_similarity(w, h, scale, angle):
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], float) @ m.T
    lo, hi = corners.min(0), corners.max(0)
    m[:, 2] -= lo
    return m, (int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1])))


def test_identity_crop_is_112_with_level_eyes(grid_face):
    frame, _, lm = grid_face
    crop = align.identity_crop(frame, lm.points)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    m = align.align_matrix(lm.points, 112, 0.5)
    eyes = align.five_points(align.transform_points(lm.points, m))[:2]
    assert np.abs(eyes - align.ARCFACE_112[:2]).max() < 2.0
