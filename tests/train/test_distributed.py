"""`twoface train --distributed` under torchrun: two CPU processes (gloo) end with the same weights."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from train_helpers import cli_env, tiny_cli_args

from twoface.train import checkpoint as ck
from twoface.train.distributed import weights_digest

pytestmark = pytest.mark.usefixtures("one_thread")


def test_two_ranks_end_with_identical_weights(faces_a, faces_b, tmp_path):
    model = tmp_path / "model"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "twoface.cli", "train", "--distributed", "--faces-a", str(faces_a), "--faces-b", str(faces_b),
           "-m", str(model), *tiny_cli_args(), "--batch-size", "4", "--iterations", "6", "--save-every", "3",
           "--log-every", "2", "--no-quality", "--no-tensorboard", "--seed", "9", "--precision", "fp32"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 processes" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "weights agree on all" in x)
    # every rank sent rank 0 the sha256 of its weights; they matched (or the run would have failed)
    assert "all 2 processes" in line
    printed = line.split("sha256 ")[1].rstrip(")")
    model_obj, _ = ck.load_model(model)
    assert weights_digest(model_obj).startswith(printed), "the saved weights are not the ones the ranks agreed on"

    state = json.loads((model / "state.json").read_text())
    assert state["iteration"] == 6 and state["world_size"] == 2
    seeds = [rank["a"]["seed"] for rank in state["data"]]
    assert len(seeds) == 2 and seeds[0] != seeds[1], "each rank must draw its own batches"
    assert len(state["rng"]) == 2
