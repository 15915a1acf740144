"""The `cpu` architecture against `lightweight` and `original`: FLOPs, parameters, training speed, loss per CPU-s.

Two parts:

``speed`` (the default): forward FLOPs per face (``torch.utils.flop_counter.FlopCounterMode``,
one face through the encoder and one decoder; a multiply-add counts 2), parameters, and training
faces/s at batch 16 per side (the trainer's step: one encoder pass over A+B, each decoder on its
side, MSE, backward, the trainer's fused Adam), in fp32 and in the default precision (``--precision auto``: bf16 +
channels_last on a CPU with AMX/AVX512-BF16). The models are timed in interleaved rounds in one
process and each ratio to ``lightweight`` is the median of the per-round ratios, so a machine
shared with other jobs moves every model alike; absolute faces/s from a shared machine mean little.

``quality``: trains each model for ``--iterations`` on the dev faces (extracted once into
``bench/out/faces``: A every 2nd frame of the Pexels clip, B two CREMA-D clips; 128 px, coverage
0.625), one child process per model so its CPU-seconds (``getrusage``, all threads) are its own,
and reads the validation loss curve (every ``--eval-every`` iterations). ``at lw CPU-s`` is the
loss lightweight had reached (linear in iterations between evaluations) when it had spent the same
CPU-seconds as the row: lower is better per CPU-second.

    nice -n 19 .venv/bin/python bench/models_cpu.py speed --steps 24 --rounds 4
    nice -n 19 .venv/bin/python bench/models_cpu.py quality --iterations 150
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
if not DATA.is_dir():  # a git worktree one level deeper than the main checkout
    DATA = REPO.parents[1] / "shared" / "data" / "dev"

# name -> (arch, options); the first is the yardstick
MODELS: dict[str, tuple[str, dict]] = {
    "lightweight": ("lightweight", {}),
    "original": ("original", {}),
    "cpu": ("cpu", {}),                              # dense4, the default since the tenth session
    "cpu conv4": ("cpu", {"bottleneck": "conv4"}),   # the default before: it leaks the source's identity
    "cpu conv8": ("cpu", {"bottleneck": "conv8"}),
    "cpu +res": ("cpu", {"decoder_residual": True}),
    "cpu 128px": ("cpu", {"size": 128}),
}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------------------------------------------ speed
def flops_and_params(arch: str, options: dict) -> tuple[float, int, int]:
    """(forward FLOPs of one face through the encoder and one decoder, parameters, input size)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from twoface.models import build

    with torch.device("meta"):
        model = build(arch, **options)
    x = torch.empty(1, 3, model.input_size, model.input_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        model(x, "a")
    return counter.get_total_flops(), sum(p.numel() for p in model.parameters()), model.input_size


class Timed:
    """One model, optimizer and fixed batch, ready to time training steps (the trainer's Pair forward)."""

    def __init__(self, arch: str, options: dict, precision: str, batch: int):
        import torch

        from twoface.device import choose
        from twoface.models import build
        from twoface.train.optim import build_optimizer
        from twoface.train.step import Pair

        torch.manual_seed(0)
        self.rt = choose("cpu", precision)
        self.model = self.rt.prepare(build(arch, **options))
        self.net = Pair(self.model)
        self.opt = build_optimizer("adam", list(self.model.parameters()))  # the trainer's (fused) Adam
        s, o = self.model.input_size, self.model.output_size
        self.xa, self.xb = (self.rt.tensor(torch.rand(batch, 3, s, s)) for _ in "ab")
        self.ta, self.tb = (torch.rand(batch, self.model.out_channels, o, o) for _ in "ab")
        self.faces_per_step = 2 * batch

    def step(self) -> None:
        import torch.nn.functional as F

        with self.rt.autocast():
            ya, yb = self.net(self.xa, self.xb)
        loss = F.mse_loss(ya, self.ta) + F.mse_loss(yb, self.tb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def time(self, steps: int) -> tuple[float, float]:
        """(faces per wall second, faces per CPU-second of this process) over ``steps`` steps."""
        wall, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(steps):
            self.step()
        faces = self.faces_per_step * steps
        return faces / (time.perf_counter() - wall), faces / (cpu_seconds() - cpu)


def speed(names: list[str], steps: int, rounds: int, batch: int, precisions: list[str]) -> dict:
    import torch

    base = names[0]
    rows: dict[str, dict] = {}
    for name in names:
        flops, params, size = flops_and_params(*MODELS[name])
        rows[name] = {"arch": MODELS[name][0], "options": MODELS[name][1], "size": size, "gflop": flops / 1e9,
                      "params_m": params / 1e6}
    print(f"threads={torch.get_num_threads()} batch={batch} per side, {steps} timed steps x {rounds} rounds "
          f"after 2 warm-up steps; machine shared with other jobs (nice 19): read the ratios", flush=True)
    for precision in precisions:
        timed = {name: Timed(*MODELS[name], precision, batch) for name in names}
        for t in timed.values():  # warm-up: oneDNN primitives, allocator
            t.step()
            t.step()
        per_round: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:  # alternate the order against drift
                per_round[name].append(timed[name].time(steps))
            print(f"  {precision} round {r + 1}: " + ", ".join(f"{n} {per_round[n][-1][1]:.1f}" for n in names)
                  + " faces/CPU-s", flush=True)
        label = timed[base].rt.describe()
        for name in names:
            walls, cpus = [w for w, _ in per_round[name]], [c for _, c in per_round[name]]
            rows[name][precision] = {
                "runtime": label, "faces_per_s": statistics.median(walls), "faces_per_cpu_s": statistics.median(cpus),
                "ratio_wall": statistics.median(w / b for w, (b, _) in zip(walls, per_round[base])),
                "ratio_cpu": statistics.median(c / b for c, (_, b) in zip(cpus, per_round[base]))}
        del timed
    print(f"\n| model | size | GFLOP/face (fwd) | x {base} | params (M) | "
          + " | ".join(f"{p}: faces/s, faces/CPU-s, x {base} (wall, CPU)" for p in precisions) + " |")
    print("|---" * (5 + len(precisions)) + "|")
    for name, row in rows.items():
        cells = [f"{row[p]['faces_per_s']:.1f}, {row[p]['faces_per_cpu_s']:.1f}, "
                 f"{row[p]['ratio_wall']:.2f}x, {row[p]['ratio_cpu']:.2f}x" for p in precisions]
        print(f"| {name} | {row['size']} | {row['gflop']:.3f} | {row['gflop'] / rows[base]['gflop']:.2f} | "
              f"{row['params_m']:.2f} | " + " | ".join(cells) + " |")
    return rows


# ------------------------------------------------------------------------------------------------ quality
def dev_faces() -> tuple[Path, Path]:
    """Extract the small dev face set once (see the module docstring)."""
    from twoface.extract import extract

    root = OUT / "faces"
    a, b = root / "A", root / "B"
    if not (root / ".done").exists():
        train = DATA / "train"
        extract(train / "person_a_pexels_woman/WolfgangLanger_Pexels.mp4", a, store=root / "stores" / "A.twoface.db",
                size=128, every=2, coverage=0.625, progress=False)
        for name in ("1001_DFA_ANG_XX", "1001_DFA_NEU_XX"):
            extract(train / f"person_b_cremad_actor1001/{name}.flv", b, store=root / "stores" / f"{name}.twoface.db",
                    size=128, coverage=0.625, progress=False)
        (root / ".done").write_text("ok\n")
    return a, b


def child(name: str, iterations: int, eval_every: int, threads: int, result: Path) -> None:
    """Train one model from scratch in this process and write its curve and CPU-seconds."""
    import shutil

    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)  # what the trainer's thread setting reads
    torch.set_num_threads(threads)
    from twoface.train import train

    arch, options = MODELS[name]
    a, b = dev_faces()
    model_dir = OUT / "models_cpu" / name.replace(" ", "_")
    shutil.rmtree(model_dir, ignore_errors=True)
    c0, w0 = cpu_seconds(), time.monotonic()
    summary = train(a, b, model_dir, arch=arch, options=options, iterations=iterations, batch_size=16, seed=1,
                    eval_every=eval_every, preview_every=10 ** 9, save_every=10 ** 9, log_every=10 ** 9,
                    quality=False, tensorboard=False)
    cpu, wall = cpu_seconds() - c0, time.monotonic() - w0
    curve = json.loads((model_dir / "state.json").read_text())["loss_history"]["valid"]
    result.write_text(json.dumps({"name": name, "threads": threads, "cpu_s": cpu, "wall_s": wall, "iterations": summary["iteration"],
                                  "curve": curve, "faces_per_s": summary.get("faces_per_s")}, indent=1))


def valid(entry: dict) -> float:
    return (entry["valid_a"] + entry["valid_b"]) / 2


def loss_at(run: dict, cpu_s: float) -> float | None:
    """The run's validation loss when it had spent ``cpu_s`` (CPU-s spread evenly over its iterations)."""
    per_it = run["cpu_s"] / run["iterations"]
    points = [(e["iteration"] * per_it, valid(e)) for e in run["curve"]]
    for (c0, v0), (c1, v1) in zip(points, points[1:]):
        if c0 <= cpu_s <= c1:
            return v0 + (v1 - v0) * (cpu_s - c0) / (c1 - c0)
    return None


def quality(names: list[str], iterations: int, eval_every: int, threads: int, jobs: int) -> None:
    dev_faces()
    results = OUT / "models_cpu" / "results"
    results.mkdir(parents=True, exist_ok=True)
    paths = {name: results / f"{name.replace(' ', '_')}@{iterations}.json" for name in names}
    todo = [name for name in names if not paths[name].exists()]
    running: list[subprocess.Popen] = []
    while todo or running:
        while todo and len(running) < jobs:
            name = todo.pop(0)
            print(f"training {name} for {iterations} iterations ...", file=sys.stderr, flush=True)
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))  # the trainer takes its thread count from here
            running.append(subprocess.Popen([sys.executable, __file__, "child", name, "--iterations", str(iterations),
                                             "--eval-every", str(eval_every), "--threads", str(threads),
                                             "--result", str(paths[name])], env=env))
        time.sleep(5)
        for proc in [p for p in running if p.poll() is not None]:
            running.remove(proc)
            if proc.returncode:
                raise SystemExit(f"{proc.args} failed ({proc.returncode})")
    runs = {name: json.loads(paths[name].read_text()) for name in names}
    base = runs[names[0]]
    print(f"\n| model | CPU-s for {iterations} it | CPU-s/it | x {names[0]} | valid loss at 0 | at {iterations} it "
          f"| {names[0]} at the same CPU-s |")
    print("|---" * 7 + "|")
    for name, run in runs.items():
        curve = run["curve"]
        same = loss_at(base, run["cpu_s"])
        print(f"| {name} | {run['cpu_s']:.0f} | {run['cpu_s'] / run['iterations']:.2f} | "
              f"{base['cpu_s'] / run['cpu_s']:.2f}x faster | {valid(curve[0]):.4f} | {valid(curve[-1]):.4f} | "
              f"{'n/a' if same is None else f'{same:.4f}'} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what")
    s = sub.add_parser("speed", help="FLOPs, parameters, training faces/s")
    s.add_argument("models", nargs="*", default=["lightweight", "original", "cpu", "cpu 128px"],
                   help=f"the first is the yardstick; from: {', '.join(MODELS)}")
    s.add_argument("--steps", type=int, default=24, help="timed steps per round (default 24)")
    s.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--precisions", nargs="+", default=["fp32", "auto"], choices=["fp32", "bf16", "auto"])
    s.add_argument("--json", type=Path, help="also write the rows here")
    q = sub.add_parser("quality", help="validation loss per CPU-second on the dev faces")
    q.add_argument("models", nargs="*", default=["lightweight", "cpu", "cpu conv4", "cpu conv8", "cpu +res"],
                   help=f"the first is the yardstick; from: {', '.join(MODELS)}")
    q.add_argument("--iterations", type=int, default=150)
    q.add_argument("--eval-every", type=int, default=25)
    q.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1: the steadiest CPU-s)")
    q.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    c = sub.add_parser("child")
    c.add_argument("name", choices=list(MODELS))
    c.add_argument("--iterations", type=int, required=True)
    c.add_argument("--eval-every", type=int, required=True)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--result", type=Path, required=True)
    args = p.parse_args()
    unknown = [m for m in getattr(args, "models", []) if m not in MODELS]
    if unknown:
        p.error(f"unknown model {unknown[0]!r}; choose from: {', '.join(MODELS)}")
    if args.what == "quality":
        quality(args.models, args.iterations, args.eval_every, args.threads, args.jobs)
    elif args.what == "child":
        child(args.name, args.iterations, args.eval_every, args.threads, args.result)
    else:
        if args.what is None:
            args = p.parse_args(["speed"])
        rows = speed(args.models, args.steps, args.rounds, args.batch, args.precisions)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
