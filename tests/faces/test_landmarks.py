"""MediaPipe landmarks on levelled crops, mapped back to frame coordinates."""
from __future__ import annotations

import math

import numpy as np
import pytest

from twoface.faces import BLENDSHAPE_NAMES, Detection, Landmarker, align, get_detector, mesh


def test_result_shapes_and_pose_roll_matches_the_eye_line(grid_face):
    _, det, lm = grid_face
    assert lm.points.shape == (478, 2) and lm.points.dtype == np.float32
    assert lm.blendshapes.shape == (52,) and lm.blendshapes.dtype == np.float32
    assert lm.blendshapes.min() >= 0 and lm.blendshapes.max() <= 1
    assert lm.transform.shape == (4, 4)
    assert len(lm.pose) == 3 and abs(lm.pose[0]) < 15 and abs(lm.pose[1]) < 15  # a frontal speaker
    assert lm.pose[2] == pytest.approx(align.roll_degrees(lm.points), abs=4)
    eyes = lm.points[list(mesh.RIGHT_EYE) + list(mesh.LEFT_EYE)]
    x, y, w, h = det.bbox
    assert np.all((eyes[:, 0] > x) & (eyes[:, 0] < x + w) & (eyes[:, 1] > y) & (eyes[:, 1] < y + h))


def test_points_map_back_to_frame_coordinates_exactly(grid_frame, grid_face, landmarker):
    """Shifting the frame by whole pixels shifts every point by exactly that much.

    The crop of the shifted frame is then pixel-identical, so any error here is in
    the crop → frame mapping itself.
    """
    _, det, lm = grid_face
    dx, dy = 37, 11
    padded = np.zeros((grid_frame.shape[0] + 60, grid_frame.shape[1] + 90, 3), np.uint8)
    padded[dy:dy + grid_frame.shape[0], dx:dx + grid_frame.shape[1]] = grid_frame
    x, y, w, h = det.bbox
    moved = Detection((x + dx, y + dy, w, h), det.score, det.points5 + np.float32([dx, dy]), 0)
    lm2 = landmarker.landmarks(padded, moved)
    assert np.abs(lm2.points - (lm.points + [dx, dy])).max() < 1e-3


def test_rot90_of_the_frame_gives_the_same_points(grid_frame, grid_face, landmarker, detector):
    """Landmarks found on the frame turned 90° (numpy) map back onto the upright ones."""
    _, det, lm = grid_face
    turned = np.ascontiguousarray(np.rot90(grid_frame))  # counter-clockwise: (x, y) -> (y, w-1-x)
    lm_t = landmarker.landmarks(turned, get_detector("yunet", rotations=[90, 270]).detect(turned)[0])
    w = grid_frame.shape[1]
    back = np.stack([w - 1 - lm_t.points[:, 1], lm_t.points[:, 0]], axis=1)
    err = np.linalg.norm(back - lm.points, axis=1)
    assert np.median(err) < 0.01 * det.size and err.max() < 0.05 * det.size
    assert lm_t.pose[2] == pytest.approx(lm.pose[2] - 90, abs=3)  # the face is turned 90° anticlockwise


def test_sideways_clip_landmarks_sit_on_the_face_in_frame_coordinates(data_dir, read_frames, landmarker):
    det = get_detector("yunet", rotations=[90, 270])
    upright = get_detector("yunet")
    for f in read_frames(data_dir / "convert/rotated_90cw_cremad.mp4", every=8):
        face = det.detect(f)[0]
        lm = landmarker.landmarks(f, face)
        assert lm is not None
        eyes = np.concatenate([lm.points[list(mesh.RIGHT_EYE)], lm.points[list(mesh.LEFT_EYE)]])
        x, y, w, h = face.bbox
        assert np.all((eyes[:, 0] > x) & (eyes[:, 0] < x + w) & (eyes[:, 1] > y) & (eyes[:, 1] < y + h))
        assert lm.pose[2] == pytest.approx(90, abs=10)  # the video is turned 90° clockwise
        # reference: the frame turned upright with numpy, landmarks there, mapped back by hand
        upright_frame = np.ascontiguousarray(np.rot90(f))
        ref = landmarker.landmarks(upright_frame, upright.detect(upright_frame)[0])
        back = np.stack([f.shape[1] - 1 - ref.points[:, 1], ref.points[:, 0]], axis=1)
        assert np.median(np.linalg.norm(back - lm.points, axis=1)) < 0.02 * face.size


def test_upright_pass_with_wrong_eye_points_is_relevelled(data_dir, read_frames, landmarker):
    """A detection whose eye points claim a level face on a sideways face still gets good landmarks."""
    f = read_frames(data_dir / "convert/rotated_90cw_cremad.mp4", limit=1)[0]
    face = get_detector("yunet", rotations=[90]).detect(f)[0]
    wrong = face.points5.copy()
    c = wrong.mean(0)
    wrong = (wrong - c) @ np.array([[0, -1], [1, 0]], np.float32) + c  # eye line turned 90° off
    lm = landmarker.landmarks(f, Detection(face.bbox, face.score, wrong, 0))
    assert lm is not None and lm.pose[2] == pytest.approx(90, abs=10)


def test_rotated_30_clip_roll_is_30_degrees_more_than_the_source(data_dir, read_frames, detector, landmarker):
    """rotated_30deg_pexels.mp4 is the Pexels clip from 12 s turned 30° clockwise (ffmpeg rotate)."""
    def rolls(frames):
        out = []
        for f in frames:
            lm = landmarker.landmarks(f, detector.detect(f)[0])
            out.append(lm.pose[2])
        return np.array(out)

    turned = rolls(read_frames(data_dir / "convert/rotated_30deg_pexels.mp4", every=8))
    source = read_frames(data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4")
    start = round(12 * 23.976)
    original = rolls(source[start:start + 48:8])
    assert np.median(turned - original) == pytest.approx(30, abs=3)


def test_yaw_flips_sign_in_a_mirror(data_dir, read_frames, detector, landmarker):
    frames = read_frames(data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4", every=24, limit=20)
    results = [(f, landmarker.landmarks(f, detector.detect(f)[0])) for f in frames]
    f, lm = max(results, key=lambda r: abs(r[1].pose[0]))
    assert abs(lm.pose[0]) > 8
    mirror = np.ascontiguousarray(f[:, ::-1])
    lm_m = landmarker.landmarks(mirror, detector.detect(mirror)[0])
    assert lm_m.pose[0] == pytest.approx(-lm.pose[0], abs=4)
    assert lm_m.pose[1] == pytest.approx(lm.pose[1], abs=4)
    assert lm_m.pose[2] == pytest.approx(-lm.pose[2], abs=4)
    # yaw > 0 means the nose is toward the image's right of the face's middle
    nose_offset = lm.points[mesh.NOSE_TIP, 0] - (lm.points[234, 0] + lm.points[454, 0]) / 2
    assert math.copysign(1, nose_offset) == math.copysign(1, lm.pose[0])


def test_blendshapes_follow_the_open_mouth(data_dir, read_frames, detector, landmarker):
    """jawOpen (in MediaPipe's order) rises and falls with the lip gap of a talking GRID speaker."""
    assert BLENDSHAPE_NAMES[0] == "_neutral" and BLENDSHAPE_NAMES[25] == "jawOpen" and len(BLENDSHAPE_NAMES) == 52
    gaps, jaw = [], []
    for f in read_frames(data_dir / "multi_identity/grid/brbk7n.mpg", every=3):
        lm = landmarker.landmarks(f, detector.detect(f)[0])
        face_h = np.linalg.norm(lm.points[mesh.CHIN] - lm.points[mesh.FOREHEAD_TOP])
        gaps.append(np.linalg.norm(lm.points[14] - lm.points[13]) / face_h)
        jaw.append(lm.blendshapes[BLENDSHAPE_NAMES.index("jawOpen")])
    assert np.corrcoef(gaps, jaw)[0, 1] > 0.6


def test_no_face_in_the_crop_gives_none(data_dir, landmarker):
    import cv2

    coffee = cv2.imread(str(data_dir / "convert/no_face_coffee.png"))
    fake = Detection((200.0, 100.0, 150.0, 150.0), 0.9,
                     np.float32([[240, 150], [310, 150], [275, 185], [245, 215], [305, 215]]), 0)
    assert landmarker.landmarks(coffee, fake) is None


def test_closed_landmarker_refuses_work(grid_face):
    frame, det, _ = grid_face
    with Landmarker() as lm:
        assert lm.landmarks(frame, det) is not None
    with pytest.raises(RuntimeError):
        lm.landmarks(frame, det)
    lm.close()  # closing twice is harmless


def test_side_by_side_faces_each_get_their_own_landmarks(data_dir, read_frames, detector, landmarker):
    """The enlarged crop around one face also shows part of its neighbour; keep the right one."""
    for f in read_frames(data_dir / "convert/two_faces_side_by_side.mp4", every=7):
        faces = detector.detect(f)
        assert len(faces) == 2
        for det in faces:
            lm = landmarker.landmarks(f, det)
            assert lm is not None
            anchors = align.five_points(lm.points)
            assert np.linalg.norm(anchors - det.points5, axis=1).mean() < 0.1 * det.size
            x, y, w, h = det.bbox
            centre = lm.points.mean(0)
            assert x < centre[0] < x + w and y < centre[1] < y + h
