"""Dense landmarks: MediaPipe Face Landmarker (478 points, 52 blendshapes, head pose).

Why on a crop: the landmarker's own face finder wants a face that fills a good part
of an upright image. So each detection is cut out enlarged (``enlarge`` × the box)
and levelled (rotated to undo the roll measured on the detector's eye points), which
makes tilted and sideways faces look upright to it. The 478 points are then mapped
back to frame pixels through the inverse of that crop transform, and the head-pose
roll is reported in frame terms (the levelling added back).

If the levelled crop still shows a clearly rolled face (the detector's eye points were
wrong, as on a sideways face found by the upright pass), the crop is levelled again
from the mesh and the landmarker runs once more.

Opening a landmarker takes a fraction of a second and one instance must not be used
from two threads at once: make one per worker thread and reuse it.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import assets
from .align import five_points, invert, roll_degrees, transform_points

# MediaPipe's category order for face_blendshapes (index 0 is "_neutral").
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
assert len(BLENDSHAPE_NAMES) == 52
_BLENDSHAPE_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}

_OPEN_LOCK = threading.Lock()


@dataclass
class LandmarkResult:
    """Landmarks of one face, in frame pixels.

    pose: (yaw, pitch, roll) in degrees. yaw > 0 when the face turns toward the
    image's right, pitch > 0 when it looks up, roll > 0 when it is turned clockwise on
    screen (the same sign as ``align.roll_degrees``). ``transform`` is MediaPipe's
    facial transformation matrix (canonical face → camera, y up) with the crop's
    levelling undone, so its rotation is the head's orientation in the frame.
    """

    points: np.ndarray = field(repr=False)  # (478, 2) float32, frame px
    blendshapes: np.ndarray = field(repr=False)  # (52,) float32, BLENDSHAPE_NAMES order
    pose: tuple[float, float, float]
    transform: np.ndarray = field(repr=False)  # (4, 4) float32


def _import_mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as err:  # pragma: no cover - set-up installs it
        from ..errors import MissingDependency
        raise MissingDependency(f"mediapipe is not installed ({err}); fix: {assets.FIX}") from None
    return mp, BaseOptions, vision


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C++ logging written straight to file descriptor 2 (MediaPipe/TFLite chatter).

    GLOG_minloglevel does not reach mediapipe 1.2.2's absl logging, so the
    messages it prints while opening a graph are dropped at the descriptor.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def euler_from_rotation(r: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a rotation in MediaPipe's camera frame (x right, y up).

    Decomposed as R = Rz(γ)·Ry(β)·Rx(α), so an in-plane turn of the image only
    changes the roll. Signs follow ``LandmarkResult``: yaw = β, pitch = −α, roll = −γ.
    """
    r = np.asarray(r, np.float64)[:3, :3]
    r = r / np.linalg.norm(r, axis=0, keepdims=True)  # drop any scale
    beta = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    alpha = math.atan2(r[2, 1], r[2, 2])
    gamma = math.atan2(r[1, 0], r[0, 0])
    return math.degrees(beta), -math.degrees(alpha), -math.degrees(gamma)


def _rz(deg: float) -> np.ndarray:
    """A 4×4 rotation about the camera axis; ``deg`` > 0 is counter-clockwise on screen (y up)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


def crop_matrix(center: tuple[float, float], side: float, level: float, size: int) -> np.ndarray:
    """The 2×3 map from frame pixels into a ``size``-pixel square crop of ``side`` frame pixels
    centred on ``center`` and rotated counter-clockwise by ``level`` degrees (which levels a face
    whose roll is ``level``)."""
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), float(level), size / float(side))
    m[:, 2] += np.array([(size - 1) / 2.0 - center[0], (size - 1) / 2.0 - center[1]])
    return m


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


# An enlarged crop around one face often holds a neighbour too (two people side by side);
# the landmarker may rank the neighbour first, so we ask for a few and keep the one whose
# eyes, nose and mouth agree with the detector's five points.
MAX_FACES_IN_CROP = 3


def _pick_face(candidates: list[np.ndarray], anchor: np.ndarray | None) -> int:
    if anchor is None or len(candidates) == 1:
        return 0
    errors = [float(np.linalg.norm(five_points(c) - anchor, axis=1).mean()) for c in candidates]
    return int(np.argmin(errors))


class Landmarker:
    """MediaPipe Face Landmarker on enlarged, levelled detector crops. One per thread.

    Use as a context manager or call ``close()``: MediaPipe prints an error at
    interpreter exit for a landmarker left open.
    """

    def __init__(self, enlarge: float = 1.8, crop_size: int = 320, relevel_degrees: float = 20.0):
        mp, base_options, vision = _import_mediapipe()
        self._mp = mp
        self.enlarge = float(enlarge)
        self.crop_size = int(crop_size)
        self.relevel_degrees = float(relevel_degrees)
        options = vision.FaceLandmarkerOptions(
            base_options=base_options(model_asset_path=str(assets.model_path("landmarker"))),
            running_mode=vision.RunningMode.IMAGE, num_faces=MAX_FACES_IN_CROP,
            output_face_blendshapes=True, output_facial_transformation_matrixes=True)
        with _OPEN_LOCK, _quiet_stderr():
            self._lm = vision.FaceLandmarker.create_from_options(options)

    def close(self) -> None:
        if self._lm is not None:
            self._lm.close()
            self._lm = None

    def __enter__(self) -> Landmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # a forgotten close() must not make MediaPipe complain at exit
        try:
            self.close()
        except Exception:
            pass

    def _run_crop(self, bgr: np.ndarray, m: np.ndarray, level: float,
                  anchor: np.ndarray | None = None) -> LandmarkResult | None:
        s = self.crop_size
        crop = cv2.warpAffine(bgr, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        rgb = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
        res = self._lm.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb))
        if not res.face_landmarks:
            return None
        back = invert(m)
        # MediaPipe's normalised coordinates measure from the image edge; our pixel centres are integers
        candidates = [transform_points(np.array([(p.x, p.y) for p in face], dtype=np.float64) * s - 0.5, back)
                      for face in res.face_landmarks]
        k = _pick_face(candidates, anchor)
        points = candidates[k]
        blend = np.zeros(52, np.float32)
        if res.face_blendshapes and len(res.face_blendshapes) > k:
            for cat in res.face_blendshapes[k]:
                i = _BLENDSHAPE_INDEX.get(cat.category_name, cat.index)
                if 0 <= i < 52:
                    blend[i] = cat.score
        if res.facial_transformation_matrixes and len(res.facial_transformation_matrixes) > k:
            t_crop = np.asarray(res.facial_transformation_matrixes[k], np.float64).reshape(4, 4)
        else:  # pragma: no cover - requested in the options
            t_crop = np.eye(4)
        transform = _rz(-level) @ t_crop  # undo the crop's counter-clockwise levelling
        return LandmarkResult(points, blend, euler_from_rotation(transform), transform.astype(np.float32))

    def landmarks(self, bgr: np.ndarray, detection) -> LandmarkResult | None:
        """Landmarks of the face ``detection`` (anything with ``bbox`` and ``points5``) in ``bgr``.

        None when the landmarker finds no face in the crop.
        """
        if self._lm is None:
            raise RuntimeError("Landmarker is closed")
        x, y, w, h = detection.bbox
        center = (x + w / 2.0, y + h / 2.0)
        side = self.enlarge * max(w, h)
        level = roll_degrees(detection.points5)
        anchor = np.asarray(detection.points5, np.float64) if getattr(detection, "points5", None) is not None else None
        result = self._run_crop(bgr, crop_matrix(center, side, level, self.crop_size), level, anchor)
        if result is None:
            return None
        roll = roll_degrees(result.points)
        if abs(_wrap(roll - level)) > self.relevel_degrees:
            again = self._run_crop(bgr, crop_matrix(center, side, roll, self.crop_size), roll, anchor)
            if again is not None:
                result = again
        return result
