"""One-Euro smoothing: still faces stop shaking, moving faces keep up, two faces keep their tracks."""
from __future__ import annotations

import numpy as np
from convert_fixtures import two_faces_store, two_faces_with_audio  # noqa: F401 (fixtures)

from twoface.convert.smooth import OneEuroFilter, TransformSmoother, matrix_to_points, points_to_matrix


def _matrix(cx, cy, face_px, size=64):
    s = size / face_px
    return np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float64)


def test_points_and_matrix_round_trip():
    M = np.array([[0.3, 0.1, -20.0], [-0.1, 0.3, 5.0]])
    assert np.allclose(points_to_matrix(matrix_to_points(M, 64), 64), M, atol=1e-5)


def test_still_face_jitter_is_reduced_a_lot():
    rng = np.random.default_rng(0)
    sm = TransformSmoother()
    raw, out = [], []
    for i in range(200):
        cx, cy = 300 + rng.normal(0, 1.5), 200 + rng.normal(0, 1.5)
        M = _matrix(cx, cy, 150)
        raw.append(matrix_to_points(M, 64)[0])
        out.append(matrix_to_points(sm(i / 25, [M], 64)[0], 64)[0])
    raw, out = np.array(raw[50:]), np.array(out[50:])
    raw_noise = np.abs(np.diff(raw, axis=0)).mean()
    out_noise = np.abs(np.diff(out, axis=0)).mean()
    assert out_noise < raw_noise / 3
    assert np.abs(out.mean(0) - raw.mean(0)).max() < 1.0  # no drift


def test_fast_motion_lags_little():
    sm = TransformSmoother()
    lag = []
    for i in range(100):
        cx = 100 + 8 * i  # 200 px/s at 25 fps for a 150 px face
        M = _matrix(cx, 200, 150)
        got = sm(i / 25, [M], 64)[0]
        lag.append(abs(matrix_to_points(got, 64)[0, 0] - matrix_to_points(M, 64)[0, 0]))
    assert max(lag[20:]) < 8  # under one frame of motion once the filter has the speed


def test_two_faces_keep_their_own_filters_when_listed_in_another_order():
    sm = TransformSmoother()
    left, right = _matrix(100, 200, 120), _matrix(500, 200, 120)
    for i in range(30):
        pair = [left, right] if i % 2 == 0 else [right, left]
        out = sm(i / 25, pair, 64)
        for got, want in zip(out, pair):
            assert np.allclose(got, want, atol=1e-6)  # still faces: each keeps its own position


def test_a_gap_restarts_the_filter():
    f = OneEuroFilter()
    f(0.0, np.array([0.0]))
    f(0.04, np.array([0.0]))
    sm = TransformSmoother(max_gap_s=0.5)
    sm(0.0, [_matrix(100, 100, 100)], 64)
    far_later = sm(5.0, [_matrix(140, 100, 100)], 64)[0]
    assert np.allclose(far_later, _matrix(140, 100, 100), atol=1e-6)


def test_real_landmark_jitter_is_reduced(two_faces_store):
    """B's head in the two-face clip barely moves: the smoothed transform shakes far less than the raw one."""
    from twoface.faces.align import align_matrix
    from twoface.store import AlignmentsStore

    with AlignmentsStore.open(two_faces_store, readonly=True) as db:
        frames = db.faces_by_frame()
        times = {f: t for f, t, _, _ in db.frames()}
    sm = TransformSmoother()
    raw, out = [], []
    for index in sorted(frames):
        faces = frames[index]
        ms = [align_matrix(f.landmarks, 64, 0.75) for f in faces]
        smoothed = sm(times[index], ms, 64)
        k = max(range(len(faces)), key=lambda i: faces[i].bbox[0])  # B is the face on the right
        raw.append(matrix_to_points(ms[k], 64))
        out.append(matrix_to_points(smoothed[k], 64))
    raw, out = np.array(raw), np.array(out)
    assert len(raw) == 50

    def shake(p):
        return float(np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=2).mean())

    assert shake(out) < shake(raw) / 2, (shake(out), shake(raw))
    assert np.abs(out - raw).max() < 0.1 * np.linalg.norm(raw[0, 1] - raw[0, 0])  # no drift off the face
