"""Fixtures of the training tests. Faces come from the session fixtures ``faces_a`` / ``faces_b``
(real extractions of the dev clips, tests/conftest.py); the model is train_helpers.TINY.
"""
from __future__ import annotations

import os

import pytest
from train_helpers import TINY


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
