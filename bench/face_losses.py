"""What the SFace losses cost: faces/s of one architecture with and without --identity-weight/--perceptual-weight.

Builds the real Trainer (so the centroids, the extra decodes and the SFace passes are the ones a
run pays for), runs one warm-up step and then ``--steps`` timed steps per configuration, and prints
one JSON line each: faces/s by the wall clock, and CPU seconds per step (steadier on a shared machine,
where the wall clock mostly measures the neighbours).

usage: .venv/bin/python bench/face_losses.py FACES_A FACES_B [--arch lightweight] [--batch-size 16] [--steps 5]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0))


def measure(args: argparse.Namespace, identity: float, perceptual: float) -> dict:
    from twoface.train.options import TrainOptions
    from twoface.train.trainer import Trainer

    with tempfile.TemporaryDirectory(prefix="twoface-bench-") as tmp:
        opts = TrainOptions(faces_a=args.faces_a, faces_b=args.faces_b, model_dir=Path(tmp) / "model",
                            arch=args.arch, batch_size=args.batch_size, seed=1, quality=False, tensorboard=False,
                            identity_weight=identity, perceptual_weight=perceptual, device=args.device,
                            precision=args.precision)
        trainer = Trainer(opts)
        try:
            trainer.stepper.step(0, trainer.stream.next())  # kernels, allocator: not speed
            wall = cpu = 0.0
            for i in range(args.steps):
                batches = trainer.stream.next()
                w0, c0 = time.perf_counter(), time.process_time()
                trainer.stepper.step(i + 1, batches)
                wall += time.perf_counter() - w0
                cpu += time.process_time() - c0
        finally:
            trainer.stream.close()
    faces = 2 * args.batch_size * args.steps
    return {"arch": args.arch, "batch_size": args.batch_size, "identity_weight": identity,
            "perceptual_weight": perceptual, "faces_per_s": round(faces / wall, 2),
            "cpu_s_per_step": round(cpu / args.steps, 3), "load_1min": round(os.getloadavg()[0], 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("faces_a", type=Path)
    p.add_argument("faces_b", type=Path)
    p.add_argument("--arch", default="lightweight")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32")
    args = p.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    for identity, perceptual in CONFIGS:
        print(json.dumps(measure(args, identity, perceptual)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
