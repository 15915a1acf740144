"""Real face PNGs for the data tests, made without waiting for (or paying for) the extract stage.

Frames of the dev clips go through MediaPipe's Face Landmarker (the same model
extract uses), then a plain square crop around the 478 points is resized to
128 px and written with FaceMeta: real faces, real landmarks, the real mask
polygons of twoface.faces.masks. The alignment is simpler than extract's, which these tests do not need.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SIZE = 128


def _landmarker():
    os.environ.setdefault("GLOG_minloglevel", "2")
    from mediapipe.tasks.python import BaseOptions, vision

    from twoface.faces.assets import model_path

    opts = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model_path("landmarker"))),
                                        num_faces=1)
    return vision.FaceLandmarker.create_from_options(opts)


def make_faces(clips: list[Path], out: Path, every: int, limit: int) -> Path:
    """Write up to ``limit`` face PNGs (every ``every``-th frame of ``clips``) into ``out``."""
    import av
    import cv2
    import mediapipe as mp

    from twoface.faces.masks import mask_polygons
    from twoface.store import FaceMeta, write_face_png

    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with _landmarker() as lm:
        for clip in clips:
            with av.open(str(clip)) as box:
                for i, frame in enumerate(box.decode(video=0)):
                    if i % every or written >= limit:
                        continue
                    rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                    res = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
                    if not res.face_landmarks:
                        continue
                    h, w = rgb.shape[:2]
                    pts = np.array([[p.x * w, p.y * h] for p in res.face_landmarks[0]], np.float32)
                    centre = (pts.min(0) + pts.max(0)) / 2
                    side = 1.5 * float((pts.max(0) - pts.min(0)).max())
                    s = SIZE / side
                    m = np.array([[s, 0, SIZE / 2 - s * centre[0]], [0, s, SIZE / 2 - s * centre[1]]])
                    bgr = cv2.warpAffine(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), m, (SIZE, SIZE),
                                         flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
                    aligned = pts * s + m[:, 2]
                    meta = FaceMeta(source_path=str(clip), source_fingerprint=f"fp-{clip.stem}", frame=i, face=0,
                                    size=SIZE, coverage=1.5, matrix=m.tolist(), landmarks=aligned.tolist(),
                                    masks=mask_polygons(aligned))
                    write_face_png(out / f"{clip.stem}_{i:06d}_0.png", bgr, meta)
                    written += 1
    return out


@pytest.fixture(scope="session")
def face_dirs(data_dir, tmp_path_factory) -> dict[str, Path]:
    """Two real face folders: "a" (24 faces of person A) and "b" (12 faces of person B), 128 px."""
    root = tmp_path_factory.mktemp("data-faces")
    a = make_faces([data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"], root / "a", 19, 24)
    b = make_faces([data_dir / "train/person_b_cremad_actor1001/1001_DFA_NEU_XX.flv"], root / "b", 5, 12)
    return {"a": a, "b": b}
