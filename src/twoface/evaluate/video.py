"""Video-level measurements: a swapped video against the video it came from.

Both videos go through the same face analysis (detector + Face Landmarker),
frame by frame, so every difference comes from the swap: jitter (landmark
noise of the swap over the source's), pose and expression kept per frame, and
who the judge thinks the swapped faces are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..faces.landmarks import BLENDSHAPE_NAMES
from . import metrics

if TYPE_CHECKING:
    from .judge import Judge


@dataclass
class VideoFaces:
    """The main (largest) face of each analysed frame of a video."""

    indices: list[int] = field(default_factory=list)
    points: list[np.ndarray] = field(default_factory=list)  # (478, 2) frame px
    poses: list[np.ndarray] = field(default_factory=list)  # (3,)
    blendshapes: list[np.ndarray] = field(default_factory=list)  # (52,)
    identity: list[np.ndarray] = field(default_factory=list)  # judge descriptors (every k-th frame)
    identity_frames: list[int] = field(default_factory=list)
    boxes: dict = field(default_factory=dict)  # frame index -> detection used
    frames: int = 0


def analyse(path: Path, max_frames: int, judge: Judge | None = None, judge_every: int = 5,
            boxes: dict | None = None) -> VideoFaces:
    """Landmarks of the largest face of the first ``max_frames`` frames (and judge descriptors).

    With ``boxes`` (frame index -> detection, from the source video), the face is
    looked for where the source had it instead of by the detector: a swapped face
    is where the source face was, and a poor swap must still be measured, not
    skipped because the detector no longer finds it.
    """
    from ..faces.detect import get_detector
    from ..faces.landmarks import Landmarker
    from ..media import open_media

    out = VideoFaces()
    detector = get_detector("yunet") if boxes is None else None
    media = open_media(path)
    with Landmarker() as lm:
        for frame in media.frames():
            if frame.index >= max_frames:
                break
            out.frames += 1
            if boxes is None:
                assert detector is not None  # made above when no boxes are given
                dets = detector.detect(frame.image)
                det = max(dets, key=lambda d: d.bbox[2] * d.bbox[3]) if dets else None
            else:
                det = boxes.get(frame.index)
            if det is None:
                continue
            out.boxes[frame.index] = det
            if judge is not None and frame.index % judge_every == 0:
                out.identity.append(judge.embed(frame.image, det.bbox))
                out.identity_frames.append(frame.index)
            res = lm.landmarks(frame.image, det)
            if res is None:
                continue
            out.indices.append(frame.index)
            out.points.append(np.asarray(res.points, np.float32))
            out.poses.append(np.asarray(res.pose, np.float64))
            out.blendshapes.append(np.asarray(res.blendshapes, np.float64))
    return out


def tracks(v: VideoFaces) -> list[np.ndarray]:
    """Runs of consecutive frames with a face, as (T, 478, 2) arrays."""
    runs, cur, last = [], [], None
    for i, p in zip(v.indices, v.points):
        if last is not None and i != last + 1:
            runs.append(cur)
            cur = []
        cur.append(p)
        last = i
    if cur:
        runs.append(cur)
    return [np.stack(r) for r in runs if len(r) >= 3]


def compare(swapped: VideoFaces, source: VideoFaces) -> dict:
    """Jitter ratio, and pose/expression error on the frames where both have a face."""
    common = sorted(set(swapped.indices) & set(source.indices))
    si = {i: k for k, i in enumerate(swapped.indices)}
    oi = {i: k for k, i in enumerate(source.indices)}
    pose = metrics.pose_error(np.array([source.poses[oi[i]] for i in common]).reshape(-1, 3),
                              np.array([swapped.poses[si[i]] for i in common]).reshape(-1, 3))
    src_bs = np.array([source.blendshapes[oi[i]] for i in common]).reshape(-1, 52)
    swp_bs = np.array([swapped.blendshapes[si[i]] for i in common]).reshape(-1, 52)
    expr = metrics.expression_error(src_bs, swp_bs)
    return {
        "frames_analysed": min(swapped.frames, source.frames),
        "frames_with_face": {"swapped": len(swapped.indices), "source": len(source.indices), "both": len(common)},
        "jitter": metrics.jitter_ratio(tracks(swapped), tracks(source)),
        "pose_error_deg": pose,
        "expression_error": expr,
        "expression_largest": metrics.expression_largest(src_bs, swp_bs, BLENDSHAPE_NAMES),
    }
