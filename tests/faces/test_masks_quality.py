"""Mesh masks in aligned space, and the blur score."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from twoface.faces import MASKS, align, blur_score, mask_polygons, mesh, render_mask

SIZE = 256


@pytest.fixture(scope="module")
def aligned(grid_face):
    frame, _, lm = grid_face
    m = align.align_matrix(lm.points, SIZE, 0.75)
    return align.warp(frame, m, SIZE), align.transform_points(lm.points, m)


def _values_at(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    ij = np.round(pts).astype(int)
    return mask[ij[:, 1], ij[:, 0]]


def test_polygons_are_compact_json(aligned):
    _, pts = aligned
    polys = mask_polygons(pts)
    assert set(polys) == set(MASKS) == {"extended", "components"}
    assert len(polys["extended"]) == 1 and len(polys["components"]) == 6
    for poly in polys["extended"] + polys["components"]:
        assert len(poly) >= 3 and all(len(p) == 2 for p in poly)
        assert all(round(v, 1) == v for p in poly for v in p)  # 0.1 px
    text = json.dumps(polys)
    assert json.loads(text) == polys and len(text) < 4000


def test_extended_mask_covers_the_face_and_not_the_corners(aligned):
    _, pts = aligned
    mask = render_mask(mask_polygons(pts)["extended"], SIZE, feather=8)
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    inner = list(mesh.RIGHT_EYE) + list(mesh.LEFT_EYE) + list(mesh.NOSE_RIDGE) + list(mesh.LIPS_OUTER) \
        + list(mesh.RIGHT_BROW) + list(mesh.LEFT_BROW)
    assert _values_at(mask, pts[inner]).min() > 0.95
    corners = mask[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.max() == 0
    # the forehead above the brows is inside: halfway from the brows to the oval's top
    brow = pts[list(mesh.RIGHT_BROW) + list(mesh.LEFT_BROW)].mean(0)
    top = pts[mesh.FOREHEAD_TOP]
    assert _values_at(mask, ((brow + top) / 2)[None])[0] > 0.95
    # and it reaches higher than the mesh itself
    hard = render_mask(mask_polygons(pts)["extended"], SIZE)
    column = hard[:, int(round(top[0]))]
    assert np.argmax(column > 0.5) < top[1] - 3


def test_components_cover_eyes_nose_mouth_and_less_than_extended(aligned):
    _, pts = aligned
    polys = mask_polygons(pts)
    comp = render_mask(polys["components"], SIZE)
    ext = render_mask(polys["extended"], SIZE)
    parts = list(mesh.RIGHT_EYE) + list(mesh.LEFT_EYE) + list(mesh.NOSE_OUTLINE) + list(mesh.LIPS_OUTER)
    assert _values_at(comp, pts[parts]).min() > 0.5
    assert comp.sum() < ext.sum()
    assert comp.max() == 1 and comp[0, 0] == 0


def test_render_mask_feathers_around_the_outline():
    square = [[[50.0, 50.0], [150.0, 50.0], [150.0, 150.0], [50.0, 150.0]]]
    hard = render_mask(square, 200)
    soft = render_mask(square, 200, feather=20)
    assert hard[100, 100] == 1 and hard[100, 20] == 0
    assert soft[100, 100] == pytest.approx(1, abs=1e-3)
    assert soft[100, 50] == pytest.approx(0.5, abs=0.08)  # the outline sits mid-ramp
    assert 0.05 < soft[100, 45] < 0.5 < soft[100, 55] < 0.95
    assert render_mask([], 64).max() == 0


def test_unknown_mask_name():
    with pytest.raises(ValueError, match="unknown mask"):
        mask_polygons(np.zeros((478, 2)), ["xseg"])
    with pytest.raises(ValueError):
        mask_polygons(np.zeros((68, 2)))


def test_blur_score_ranks_sharp_above_blurred(aligned):
    face, pts = aligned
    sharp = blur_score(face)
    blurred = blur_score(cv2.GaussianBlur(face, (0, 0), 2.0))
    smaller = cv2.resize(cv2.resize(face, (64, 64), interpolation=cv2.INTER_AREA), (SIZE, SIZE))
    assert sharp > 2 * blurred
    assert sharp > 2 * blur_score(smaller)  # an upscaled small face is soft too
    mask = render_mask(mask_polygons(pts)["components"], SIZE)
    assert blur_score(face, mask=mask) > blur_score(cv2.GaussianBlur(face, (0, 0), 2.0), mask=mask)
    assert blur_score(np.full((64, 64, 3), 128, np.uint8)) == 0
    with pytest.raises(ValueError):
        blur_score(face, mask=np.ones((10, 10)))
