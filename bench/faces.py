"""Per-call cost of the face models on this machine (ms), to plan extract's threading.

Prints the median milliseconds of: YuNet detection on a 1280x720 frame (downscaled
to 640, and at full size for comparison), MediaPipe landmarks on one face, the SFace
embedding of one face (single and batched), and the alignment warp. Each model runs
in this one thread (cv2's own thread pool as configured).

    .venv/bin/python bench/faces.py [--repeat 20] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import av
import cv2
import numpy as np

DATA = Path(os.environ.get("TWOFACE_TEST_DATA", Path(__file__).resolve().parents[2] / "shared/data/dev"))


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, best) milliseconds; on a shared machine the best is the steadier figure."""
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's choice)")
    args = ap.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    from twoface.faces import Embedder, Landmarker, align, get_detector

    with av.open(str(DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4")) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24")
    frame = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_CUBIC)
    det640 = get_detector("yunet")
    det_full = get_detector("yunet", detect_size=None)
    face = det640.detect(frame)[0]
    rows = [("detect 1280x720 (detect_size 640)", timed(lambda: det640.detect(frame), args.repeat)),
            ("detect 1280x720 (full size)", timed(lambda: det_full.detect(frame), max(3, args.repeat // 4)))]
    with Landmarker() as lm:
        rows.append(("landmarks, one face", timed(lambda: lm.landmarks(frame, face), args.repeat)))
        points = lm.landmarks(frame, face).points
    emb = Embedder()
    crops = np.stack([align.identity_crop(frame, points)] * 8)
    rows.append(("identity crop 112 (warp)", timed(lambda: align.identity_crop(frame, points), args.repeat)))
    rows.append(("embedding, one face", timed(lambda: emb.embed_aligned(crops[:1]), args.repeat)))
    batch = timed(lambda: emb.embed_aligned(crops), args.repeat)
    rows.append(("embedding, per face in a batch of 8", (batch[0] / 8, batch[1] / 8)))
    m = align.align_matrix(points, 256)
    rows.append(("align warp 256", timed(lambda: align.warp(frame, m, 256), args.repeat)))
    face256 = align.warp(frame, m, 256)
    rows.append(("identity crop from the aligned 256", timed(lambda: align.identity_from_aligned(face256),
                                                             args.repeat)))
    print(f"cv2 threads: {cv2.getNumThreads()}, face size {face.size:.0f} px in a 1280x720 frame")
    print(f"{'':40s} {'median':>8s} {'best':>8s}")
    for name, (median, best) in rows:
        print(f"{name:40s} {median:7.2f}ms {best:7.2f}ms")


if __name__ == "__main__":
    main()
