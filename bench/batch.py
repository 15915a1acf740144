"""Per-video costs of a `twoface batch` run on the dev pair, and what they mean for 1,000 videos.

Runs one real batch (``--local 1``: one worker process, so each job's CPU-seconds are its own)
on the dev clips: extract person A (Pexels, 472 frames, 640x360) and person B (five CREMA-D
clips, 309 frames, 480x360), train ``original`` for --iterations steps at batch 16, convert
A's clip a2b and B's held-out SAD clip b2a. Beside it, the baseline measured in the same run:
the same extract and convert of the SAD clip called directly (no batch), so the batch's own
overhead shows as a ratio. Prints CPU-seconds (the machine may be shared: wall-clock is
printed too, but CPU-seconds are the figure to scale from) and a throughput estimate.

usage: .venv/bin/python bench/batch.py [--iterations 30] [--videos 1000] [--frames 500]
       [--pairs 500] [--budget 20000] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))


def cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def manifest(work: Path, iterations: int) -> Path:
    a = DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"
    b_dir = DATA / "train/person_b_cremad_actor1001"
    jobs = [{"id": "ext-a", "kind": "extract", "input": str(a), "faces": "faces/a", "store": "stores/a.db",
             "identity": "A"}]
    for clip in sorted(b_dir.glob("*.flv")):
        if "SAD" not in clip.name:
            jobs.append({"id": f"ext-{clip.stem}", "kind": "extract", "input": str(clip), "faces": "faces/b",
                         "store": f"stores/{clip.stem}.db", "identity": "B"})
    jobs += [
        {"id": "train", "kind": "train", "faces_a": "faces/a", "faces_b": "faces/b", "model": "models/ab",
         "arch": "original", "iterations": iterations, "batch_size": 16, "seed": 1, "quality": False,
         "save_every": 10_000, "preview_every": 10_000, "eval_every": 10_000, "log_every": 10},
        {"id": "swap-a", "kind": "convert", "input": str(a), "model": "models/ab", "output": "out/a_as_b.mp4"},
        {"id": "swap-sad", "kind": "convert", "input": str(b_dir / "1001_DFA_SAD_XX.flv"), "model": "models/ab",
         "output": "out/sad_as_a.mp4", "direction": "b2a"},
    ]
    path = work / "bench.jsonl"
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=30, help="training steps measured (default 30)")
    ap.add_argument("--videos", type=int, default=1000, help="videos in the estimated dataset")
    ap.add_argument("--frames", type=int, default=500, help="frames per video in the estimate")
    ap.add_argument("--pairs", type=int, default=500, help="identity pairs (models) in the estimate")
    ap.add_argument("--budget", type=int, default=20_000, help="training iterations per pair in the estimate")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    from twoface.batch.runner import run_batch
    from twoface.convert import convert
    from twoface.extract import extract

    work = args.workdir or Path(tempfile.mkdtemp(prefix="twoface-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    path = manifest(work, args.iterations)
    t0 = time.perf_counter()
    summary = run_batch(path, local=1, say=lambda text: print(text, file=sys.stderr))
    wall = time.perf_counter() - t0
    if not summary.ok:
        raise SystemExit(f"the batch did not complete: {summary.counts()}")
    jobs = {j["id"]: j for j in summary.jobs}

    # baseline, same run: the SAD clip's extract and convert called directly, in this process
    sad = DATA / "train/person_b_cremad_actor1001/1001_DFA_SAD_XX.flv"
    c0, w0 = cpu_self(), time.perf_counter()
    extract(sad, work / "direct/faces", store=work / "direct/sad.db", progress=False)
    ext_cpu, ext_wall = cpu_self() - c0, time.perf_counter() - w0
    c0, w0 = cpu_self(), time.perf_counter()
    convert(sad, work / "models/ab", work / "direct/sad_as_a.mp4", progress=False, direction="b2a")
    conv_cpu, conv_wall = cpu_self() - c0, time.perf_counter() - w0

    ext_ids = [k for k in jobs if k.startswith("ext-")]
    ext_frames = sum(jobs[k]["result"]["frames"] for k in ext_ids)
    ext_cpu_batch = sum(jobs[k]["cpu_seconds"] for k in ext_ids)
    conv_frames = sum(jobs[k]["result"]["frames"] for k in ("swap-a", "swap-sad"))
    conv_cpu_batch = sum(jobs[k]["cpu_seconds"] for k in ("swap-a", "swap-sad"))
    train = jobs["train"]
    it_cpu = train["cpu_seconds"] / args.iterations
    ms = lambda cpu, n: 1000 * cpu / max(n, 1)  # noqa: E731
    print(f"batch --local 1: {len(jobs)} jobs in {wall:.1f} s wall on {os.cpu_count()} cores (shared machine)")
    print(f"  extract: {ext_frames} frames, {ext_cpu_batch:.1f} CPU-s = "
          f"{ms(ext_cpu_batch, ext_frames):.1f} CPU-ms/frame")
    print(f"  train original, batch 16: {args.iterations} it, {train['cpu_seconds']:.1f} CPU-s = {it_cpu:.2f} CPU-s/it "
          f"({train['seconds']:.1f} s wall, set-up included)")
    print(f"  convert: {conv_frames} frames, {conv_cpu_batch:.1f} CPU-s = {ms(conv_cpu_batch, conv_frames):.1f} "
          f"CPU-ms/frame (model load included)")
    sad_conv = jobs["swap-sad"]
    print(f"baseline (direct calls, same run) for the SAD clip: extract {ext_cpu:.1f} CPU-s / {ext_wall:.1f} s, "
          f"convert {conv_cpu:.1f} CPU-s / {conv_wall:.1f} s")
    print(f"  batch/direct convert CPU ratio: {sad_conv['cpu_seconds'] / max(conv_cpu, 1e-9):.2f} "
          f"(below 1: the batch job reused the model its worker had loaded for swap-a; the direct call loads it)")
    # the estimate
    cores = os.cpu_count() or 1
    e_s = ms(ext_cpu_batch, ext_frames) / 1000 * args.frames
    c_s = ms(conv_cpu_batch, conv_frames) / 1000 * args.frames
    t_s = it_cpu * args.budget
    total = args.videos * (2 * e_s + c_s) + args.pairs * t_s  # each converted video: its own and a partner's extract
    print(f"estimate for {args.videos} videos of {args.frames} frames, {args.pairs} pairs x {args.budget} iterations:")
    print(f"  per video: extract {e_s:.0f} CPU-s, convert {c_s:.0f} CPU-s; per pair: train {t_s / 3600:.1f} CPU-h")
    print(f"  total {total / 3600:.0f} CPU-h = {total / 3600 / cores:.0f} h on this {cores}-core machine "
          f"({args.pairs * t_s / total:.0%} of it training)")


if __name__ == "__main__":
    main()
