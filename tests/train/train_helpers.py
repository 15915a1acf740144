"""Helpers of the training tests: a tiny real model's options, and the real CLI in a subprocess.

The model is the ``custom`` architecture at 64 px with small widths (about 0.4 M parameters):
the same code path as every architecture, a few milliseconds a step.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TINY = {"input_size": 64, "output_size": 64, "encoder_width": 8, "max_width": 32, "latent": 32, "decoder_width": 32}


def tiny_cli_args() -> list[str]:
    return ["--arch", "custom", *[a for k, v in TINY.items() for a in ("--option", f"{k}={v}")]]


def cli_env() -> dict:
    """One thread per process: the suite runs with ``pytest -n 2`` on two cores."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def twoface_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "twoface.cli", *args]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(twoface_cmd(*args), capture_output=True, text=True, env=cli_env(), timeout=timeout)
