"""Kill -9 a twoface stage on a seeded schedule, many times, in forked children of one warm process.

Usage: python fault_zygote.py PLAN.json  (prints one JSON line of results)

Why a zygote: starting Python with torch, OpenCV and MediaPipe takes seconds, and a kill while
importing tests nothing. This process imports everything once and forks a child per attempt;
the child runs the real stage (real files, real SQLite, real encoder) and the parent sends it a
real SIGKILL at a seeded random moment within the stage's measured run time. The parent never
runs torch or OpenCV itself, so forking is safe.

PLAN: {"stage": "extract" | "train" | "convert", "reference": kwargs, "subject": kwargs,
       "reset": [paths to delete when a run completes before enough kills], "kills": N, "seed": S}
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time


def _stage(name: str):
    if name == "extract":
        from twoface.extract import extract
        return extract
    if name == "train":
        from twoface.train import train
        return train
    from twoface.convert import convert
    return convert


def _child(fn, kwargs: dict) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    code = 0
    try:
        import torch

        torch.set_num_threads(1)
        fn(**kwargs)
    except BaseException as err:  # noqa: BLE001 - reported through the exit status
        print(f"child error: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        code = 3
    os._exit(code)


def _run(fn, kwargs: dict, kill_after: float | None) -> tuple[str, float]:
    """Fork a child running the stage; SIGKILL it after ``kill_after`` s. Returns (outcome, seconds)."""
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(fn, kwargs)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return ("completed" if code == 0 else f"failed {code}"), time.monotonic() - t0
        if kill_after is not None and time.monotonic() - t0 >= kill_after:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "killed", time.monotonic() - t0
        time.sleep(0.005)


def main() -> None:
    plan = json.loads(open(sys.argv[1]).read())
    fn = _stage(plan["stage"])
    import twoface.faces.landmarks  # noqa: F401  (warm imports the children share)

    rng = random.Random(plan["seed"])
    outcome, ref_s = _run(fn, plan["reference"], None)
    if outcome != "completed":
        print(json.dumps({"error": f"reference run {outcome}"}))
        return
    kills, cycles, attempts, kill_times = 0, 1, 0, []
    while True:
        attempts += 1
        if attempts > plan["kills"] * 6:
            break
        delay = rng.uniform(0.1, 0.9) * ref_s if kills < plan["kills"] else None
        outcome, took = _run(fn, plan["subject"], delay)
        print(f"attempt {attempts}: {outcome} after {took:.2f} s (kill at {delay})", file=sys.stderr, flush=True)
        if outcome == "killed":
            kills += 1
            kill_times.append(round(delay, 3))
            continue
        if outcome != "completed":
            print(json.dumps({"error": f"a run after {kills} kills {outcome}"}))
            return
        if kills >= plan["kills"]:
            break
        # finished before the schedule was through: start the subject over and keep killing
        for p in plan["reset"]:
            shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else (os.path.exists(p) and os.unlink(p))
        cycles += 1
    print(json.dumps({"kills": kills, "cycles": cycles, "attempts": attempts, "reference_seconds": round(ref_s, 2),
                      "kill_times": kill_times}))


if __name__ == "__main__":
    main()
