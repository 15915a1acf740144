"""How low can the expression error go with A's data? A floor for ``evaluate``'s expression metric.

A swap B→A is drawn by A's decoder, which has only seen A's faces. If A's clip holds no face that
makes the expression the source makes, no amount of training draws it. This script measures that
from the data alone, with the same blendshapes and the same metric (``metrics.expression_error``,
mean L2 over 52 MediaPipe blendshapes) as ``evaluate --video``:

- ``nearest A face``: for each held-out source frame, the real A face whose blendshapes are nearest.
  A decoder that reproduced A's own expressions perfectly, picked perfectly, scores this.
- ``mean A face``: every frame answered with A's mean blendshapes (a decoder that ignores the source).
- ``nearest B face`` (B's other clips): the same floor for B, whose clips cover more expressions;
  it says how much of A's floor is the data, not the metric.
- the same two with A's faces shrunk to 64 and 32 px and enlarged again (a 64 px model's best, and a
  blur): how much of a swap's expression error is its softness, not its expression.
- the blendshapes on which A's mean differs most from the source's mean.

Nothing is trained. usage: .venv/bin/python bench/expression_floor.py [--out bench/out/quality]
"""
from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def blendshapes(stores: list[Path]) -> np.ndarray:
    from twoface.store.alignments import AlignmentsStore

    rows = []
    for path in stores:
        with AlignmentsStore.open(path, readonly=True) as st:
            rows += [f.blendshapes for f in st.faces() if f.blendshapes is not None]
    return np.array(rows, np.float64).reshape(-1, 52)


def softened(files: list[Path], size: int) -> np.ndarray:
    """Blendshapes of face PNGs resized to ``size`` px and back, read as evaluate reads a swap."""
    import cv2

    from twoface.evaluate.faces import landmark_aligned
    from twoface.faces.landmarks import Landmarker
    from twoface.store.metadata import read_face

    rows = []
    with Landmarker() as lm:
        for f in files:
            img, meta = read_face(f)
            n = img.shape[0]
            small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
            res = landmark_aligned(lm, cv2.resize(small, (n, n), interpolation=cv2.INTER_CUBIC), float(meta.coverage))
            if res is not None:
                rows.append(res.blendshapes)
    return np.array(rows, np.float64).reshape(-1, 52)


def nearest_error(source: np.ndarray, pool: np.ndarray) -> float:
    d = np.linalg.norm(source[:, None, :] - pool[None, :, :], axis=2)
    return float(d.min(axis=1).mean())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=HERE / "out" / "quality")
    p.add_argument("--coverage", type=float, default=0.625, help="which face folder of bench/quality.py")
    p.add_argument("--resolutions", nargs="*", type=int, default=[64, 32],
                   help="also read A's faces softened to these sizes (px)")
    a = p.parse_args()
    q = runpy.run_path(str(HERE / "quality.py"), run_name="quality")
    from twoface.evaluate import metrics
    from twoface.extract import extract
    from twoface.faces import BLENDSHAPE_NAMES

    q["faces"](a.out, a.coverage)  # A and B as bench/quality.py trains on them
    stores = a.out / f"faces-cov{a.coverage:g}" / "stores"
    held = a.out / "heldout" / "SAD.twoface.db"
    if not held.exists():  # the held-out clip, every frame, as evaluate reads its source
        extract(q["DATA"] / "train/person_b_cremad_actor1001" / q["HELD_OUT"], a.out / "heldout" / "faces",
                store=held, size=128, progress=False, coverage=a.coverage)
    src = blendshapes([held])
    pool_a = blendshapes([stores / "A.twoface.db"])
    pool_b = blendshapes(sorted(stores.glob("1001_*.twoface.db")))
    mean_a = np.repeat(pool_a.mean(axis=0, keepdims=True), len(src), axis=0)
    print(f"held-out source frames {len(src)}, A faces {len(pool_a)}, B faces (other clips) {len(pool_b)}")
    print(f"expression error floor, nearest A face : {nearest_error(src, pool_a):.2f}")
    print(f"expression error, A's mean face         : {metrics.expression_error(src, mean_a):.2f}")
    print(f"expression error floor, nearest B face : {nearest_error(src, pool_b):.2f}")
    print(f"spread within A (mean distance to A's mean): "
          f"{np.linalg.norm(pool_a - pool_a.mean(axis=0), axis=1).mean():.2f}")
    # the same faces at lower resolution, landmarked as evaluate landmarks a swap: does detail change the reading?
    for size in a.resolutions:
        pool = softened(sorted((a.out / f"faces-cov{a.coverage:g}" / "A").glob("*.png"))[::3], size)
        mean = np.repeat(pool.mean(axis=0, keepdims=True), len(src), axis=0)
        print(f"A's faces down to {size} px and back ({len(pool)}): floor {nearest_error(src, pool):.2f}, "
              f"mean face {metrics.expression_error(src, mean):.2f}")
    diff = pool_a.mean(axis=0) - src.mean(axis=0)
    top = np.argsort(-np.abs(diff))[:8]
    print("A's mean minus the source's mean, largest blendshapes:")
    for i in top:
        print(f"  {BLENDSHAPE_NAMES[i]:<20} {diff[i]:+.2f}  (A {pool_a[:, i].mean():.2f}, source {src[:, i].mean():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
