"""Calibrate the judge's same-person threshold once, on the dev data's real faces (A, B, 10 GRID speakers).

`twoface evaluate` reports *verification*: the share of swaps whose dlib descriptor is within the
judge's same-person threshold of the target's centroid. That threshold is a property of the judge
(dlib ResNet) on faces framed and sized the way evaluate shows them, not of any model, so it is
measured here once, on real faces only, and written into ``twoface.evaluate.judge.VERIFY_THRESHOLDS``
by hand (with this script's output in docs/ARCHITECTURE.md). The judge is never trained or tuned
against; this only reads where its same-person and different-person similarities separate.

For every identity, its faces are split evenly in two: one half builds the centroid (as evaluate's
gallery does, at most 40 faces), the other half are probes. Same-person pairs: a probe and its own
centroid; different-person pairs: a probe and each other identity's centroid. The threshold is
where >= 99 % of same-person pairs pass and <= 1 % of different-person pairs do, at each face size.

usage: .venv/bin/python bench/calibrate_judge.py [--sizes 64 128]   (faces from bench/quality.py's cache)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=int, default=[64, 128])
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "quality")
    p.add_argument("--per-identity", type=int, default=40, help="probes and centroid faces per identity")
    a = p.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "src"))
    import quality

    from twoface.evaluate import metrics
    from twoface.evaluate.faces import evenly, judge_faces, load_faces, to_size
    from twoface.evaluate.judge import Judge
    from twoface.store.metadata import list_face_files

    f = quality.faces(a.out)
    folders = {"A": f["a"], "B": f["b"], **{g.name: g for g in f["gallery"]}}
    judge = Judge()
    results = {}
    for size in a.sizes:
        probes, gallery = {}, {}
        for name, folder in folders.items():
            files = list_face_files(folder)
            picked = evenly(files, 2 * a.per_identity)
            halves = {"gallery": picked[0::2], "probe": picked[1::2]}
            for role, fs in halves.items():
                h = load_faces(fs)
                imgs = [to_size(im, size) for im in h.images]
                pts = [lm * (size / im.shape[0]) for lm, im in zip(h.landmarks, h.images)]
                (gallery if role == "gallery" else probes)[name] = judge_faces(judge, imgs, pts)
        import numpy as np

        np.savez(a.out / f"judge_embeddings_{size}.npz", **{f"probe_{k}": v for k, v in probes.items()},
                 **{f"gallery_{k}": v for k, v in gallery.items()})
        results[size] = metrics.calibrate_threshold(probes, gallery)
        r = results[size]
        print(f"{size} px: threshold {r['threshold']:.4f} (cosine), feasible {r['feasible']}; same-person pass "
              f"{r['same_pass']:.2%} of {r['same_pairs']}, different-person pass {r['diff_pass']:.2%} of "
              f"{r['diff_pairs']}; lowest same {r['same_min']:.4f}, highest different {r['diff_max']:.4f}")
    (a.out / "judge_calibration.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
