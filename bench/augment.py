"""Augmentation throughput: twoface's batched torch path against faceswap's per-sample OpenCV way.

Prints faces/s for batch 16 at 64 and 128 px, both measured in the same run on the
same real faces (extract-style PNGs under FOLDER, or the dev clip frames if none given).

    python bench/augment.py [FACE_FOLDER] [--seconds 3] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from twoface.data import Augmenter, FaceSet, baseline_augment, tune_allocator


def rates(fns: dict, seconds: float, faces_per_call: int, rounds: int = 7) -> dict[str, float]:
    """faces/s of each function, measured in interleaved short rounds (median), so that a
    machine shared with other work slows every contender alike."""
    for fn in fns.values():
        fn()  # warm-up
    per: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                fn()
                n += 1
            per[name].append(n * faces_per_call / (time.perf_counter() - start))
    return {k: statistics.median(v) for k, v in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="a folder of twoface face PNGs")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--no-tune-allocator", action="store_true",
                    help="leave glibc's malloc thresholds alone (twoface's BatchStream raises them)")
    args = ap.parse_args()
    if not args.no_tune_allocator:
        tune_allocator()
    if args.threads:
        torch.set_num_threads(args.threads)
    bs = args.batch_size
    print(f"torch threads {torch.get_num_threads()}, batch {bs}, allocator tuned: {not args.no_tune_allocator}")
    for size in (64, 128):
        fs = FaceSet(args.folder, size)
        idx = torch.arange(bs) % len(fs)
        imgs, masks, lms = fs.images[idx], fs.masks[idx], fs.landmarks[idx]
        bgr = [im.permute(1, 2, 0).numpy()[..., ::-1].copy() for im in imgs]
        aug = Augmenter(size, size)
        g = torch.Generator().manual_seed(0)
        rng = np.random.default_rng(0)
        landmark_aug = Augmenter(size, size, warp_to_landmarks=True)

        def baseline():
            out = [baseline_augment(b, rng, size, size) for b in bgr]
            torch.from_numpy(np.stack([w for w, _ in out])), torch.from_numpy(np.stack([t for _, t in out]))

        r = rates({"ours": lambda: aug(imgs, masks, lms, g), "landmarks": lambda: landmark_aug(imgs, masks, lms, g),
                   "baseline": baseline}, args.seconds, bs)
        print(f"{size:4d} px: torch-batched {r['ours']:7.0f} faces/s (warp-to-landmarks {r['landmarks']:6.0f}) | "
              f"faceswap-style per-sample OpenCV {r['baseline']:7.0f} faces/s | ratio {r['ours'] / r['baseline']:.2f}x")


if __name__ == "__main__":
    main()
