"""Shared bits of the training tests: a tiny real model, and running the real CLI in a subprocess.

The model is the ``custom`` architecture at 64 px with small widths (about 0.4 M parameters):
the same code path as every architecture, a few milliseconds a step. Faces come from the
session fixtures ``faces_a`` / ``faces_b`` (real extractions of the dev clips, tests/conftest.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture
def tiny_kwargs() -> dict:
    """Python-API options for a short, quiet, repeatable run of the tiny model."""
    return {"arch": "custom", "options": dict(TINY), "batch_size": 8, "seed": 11, "lr": 5e-4,
            "log_every": 1, "eval_every": 1000, "preview_every": 1000, "save_every": 1000,
            "quality": False, "tensorboard": False}


@pytest.fixture
def one_thread():
    """In-process training also uses one thread (two xdist workers share two cores)."""
    import torch

    before = torch.get_num_threads()
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    torch.set_num_threads(before)
    if old is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = old
