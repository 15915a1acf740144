"""Training speed and memory: a faceswap-style baseline next to twoface's default path, same run.

For each architecture and batch size, two configurations, each in its own subprocess (so the
peak RSS is that configuration's alone), on the same real faces:

  baseline  faceswap's way: fp32 eager, one worker thread that reads every face PNG from disk
            and augments it alone with OpenCV (data.augment.baseline_augment), one forward per
            side, Adam, the same ssim+mse loss.
  twoface   the real training loop's default path (Trainer + Stepper): bf16 autocast and
            channels_last on CPUs with bf16 units, faces decoded once into a uint8 cache, batched
            torch augmentation in the prefetch threads, both sides through the encoder in one pass.

faces/s counts A and B (a step of batch 16 is 32 faces). Timed steps follow warm-up steps.
Faces: --faces-a/--faces-b, else the dev clips extracted once at 256 px into --workdir.

usage: .venv/bin/python bench/train.py [--quick] [--archs original lightweight] [--batches 16 64]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
# DESIGN §6: faceswap 3 (Keras 3 + torch, defaults) measured on this machine type. Not measured here.
DESIGN_REFERENCE = [("original", 16, 8.9, 5.4), ("original", 64, 12.3, None), ("lightweight", 16, 9.9, None)]
TARGET = "original batch 16: >= 45 faces/s at <= 2.7 GB peak RSS (issue 4)"


def dev_faces(workdir: Path) -> tuple[Path, Path]:
    """Extract the dev pair once (A: every 3rd frame, B: every 2nd frame of five clips) at 256 px."""
    from twoface.extract import extract

    out = workdir / "faces-256"
    a, b = out / "A", out / "B"
    if not (out / ".done").exists():
        clip_a = DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"
        extract(clip_a, a, store=out / "a.twoface.db", progress=False, every=3, size=256)
        for clip in sorted((DATA / "train/person_b_cremad_actor1001").glob("*.flv")):
            if "SAD" not in clip.name:
                extract(clip, b, store=out / f"{clip.stem}.twoface.db", progress=False, every=2, size=256)
        (out / ".done").write_text("ok")
    return a, b


# --------------------------------------------------------------------------------------------- children
def peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)  # KiB on Linux


def child_baseline(arch: str, batch: int, steps: int, warmup: int, faces_a: Path, faces_b: Path) -> dict:
    import queue
    import threading

    import cv2
    import numpy as np
    import torch

    from twoface.data import baseline_augment
    from twoface.models import build
    from twoface.store.metadata import list_face_files
    from twoface.train.losses import build_loss
    from twoface.train.optim import build_optimizer

    torch.manual_seed(0)
    model = build(arch)
    opt = build_optimizer("adam", model.parameters())
    loss_fn = build_loss("ssim:1,mse:1")
    files = {"a": list_face_files(faces_a), "b": list_face_files(faces_b)}
    q: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def side_batch(paths, rng) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [baseline_augment(cv2.imread(str(paths[i])), rng, model.input_size, model.output_size)
                 for i in rng.integers(0, len(paths), batch)]
        to_t = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
        return to_t([p[0] for p in pairs]), to_t([p[1] for p in pairs])

    def worker() -> None:  # faceswap's one loader worker, per-sample OpenCV
        rng = np.random.default_rng(0)
        while not stop.is_set():
            item = (*side_batch(files["a"], rng), *side_batch(files["b"], rng))
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    pass

    threading.Thread(target=worker, daemon=True).start()

    def step() -> None:
        wa, ta, wb, tb = q.get()
        ya, yb = model(wa, "a"), model(wb, "b")
        loss = loss_fn(ya, ta)[0] + loss_fn(yb, tb)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    stop.set()
    return {"faces_per_s": 2 * batch * steps / elapsed, "faces_per_cpu_s": 2 * batch * steps / cpu,
            "precision": "fp32", "threads": torch.get_num_threads()}


def child_twoface(arch: str, batch: int, steps: int, warmup: int, faces_a: Path, faces_b: Path) -> dict:
    import torch

    from twoface.train.options import TrainOptions
    from twoface.train.trainer import Trainer

    with tempfile.TemporaryDirectory(prefix="twoface-bench-") as tmp:
        opts = TrainOptions(faces_a, faces_b, Path(tmp) / "model", arch=arch, batch_size=batch, seed=0,
                            quality=False, tensorboard=False)
        trainer = Trainer(opts, say=lambda text: None)
        try:
            for i in range(warmup):
                trainer.stepper.step(i, trainer.stream.next())
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(warmup, warmup + steps):
                trainer.stepper.step(i, trainer.stream.next())
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            trainer.stream.close()
        return {"faces_per_s": 2 * batch * steps / elapsed, "faces_per_cpu_s": 2 * batch * steps / cpu,
                "precision": trainer.runtime.describe(), "threads": torch.get_num_threads()}


def run_child(mode: str, arch: str, batch: int, steps: int, warmup: int, faces_a: Path, faces_b: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, arch, str(batch), str(steps), str(warmup),
           str(faces_a), str(faces_b)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{mode} {arch} batch {batch} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------- main
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, arch, batch, steps, warmup, fa, fb = sys.argv[2:9]
        fn = child_baseline if mode == "baseline" else child_twoface
        result = fn(arch, int(batch), int(steps), int(warmup), Path(fa), Path(fb))
        result["peak_rss_gb"] = peak_rss_gb()
        print(json.dumps(result))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", nargs="+", default=["original", "lightweight"])
    ap.add_argument("--batches", nargs="+", type=int, default=[16, 64])
    ap.add_argument("--steps", type=int, default=6, help="timed steps per configuration (default 6)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--quick", action="store_true", help="2 timed steps after 1 warm-up (a few minutes in all)")
    ap.add_argument("--faces-a", type=Path, help="face folder A (default: dev clip A, extracted once)")
    ap.add_argument("--faces-b", type=Path, help="face folder B (default: dev clips B, extracted once)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "twoface-bench-train",
                    help="where the extracted dev faces are cached")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.warmup = 2, 1
    if args.faces_a and args.faces_b:
        faces_a, faces_b = args.faces_a, args.faces_b
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(f"faces: the dev pair, extracted once into {args.workdir}", flush=True)
        faces_a, faces_b = dev_faces(args.workdir)

    import torch

    print(f"cores {os.cpu_count()}, torch {torch.__version__}; {args.warmup} warm-up + {args.steps} timed steps; "
          "faces/s count A and B; each configuration in its own process", flush=True)
    print(f"{'arch':12s} {'batch':>5s} | {'baseline faces/s':>16s} {'/CPU-s':>7s} {'peak RSS':>9s} | "
          f"{'twoface faces/s':>15s} {'/CPU-s':>7s} {'peak RSS':>9s} | {'speed-up':>8s} {'(CPU)':>6s} {'RSS':>6s}",
          flush=True)
    for arch in args.archs:
        for batch in args.batches:
            base = run_child("baseline", arch, batch, args.steps, args.warmup, faces_a, faces_b)
            ours = run_child("twoface", arch, batch, args.steps, args.warmup, faces_a, faces_b)
            print(f"{arch:12s} {batch:5d} | {base['faces_per_s']:16.1f} {base['faces_per_cpu_s']:7.1f} "
                  f"{base['peak_rss_gb']:7.2f}GB | {ours['faces_per_s']:15.1f} {ours['faces_per_cpu_s']:7.1f} "
                  f"{ours['peak_rss_gb']:7.2f}GB | {ours['faces_per_s'] / base['faces_per_s']:7.2f}x "
                  f"{ours['faces_per_cpu_s'] / base['faces_per_cpu_s']:5.2f}x "
                  f"{ours['peak_rss_gb'] / base['peak_rss_gb']:5.2f}x"
                  f"   (twoface: {ours['precision']}, {ours['threads']} threads)", flush=True)
    print("faces/s is wall-clock; /CPU-s divides by the process's CPU time (all its threads), which stays "
          "meaningful when other work shares the machine")
    print("\nfor context, from DESIGN §6 (faceswap 3 on this machine type; NOT measured by this script):")
    for arch, batch, fps, rss in DESIGN_REFERENCE:
        print(f"  faceswap 3 {arch} batch {batch}: {fps} faces/s" + (f" at {rss} GB peak RSS" if rss else ""))
    print(f"target: {TARGET}")


if __name__ == "__main__":
    main()
