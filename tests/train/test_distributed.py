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


def test_two_nodes_rendezvous_on_localhost_and_agree(faces_a, faces_b, tmp_path):
    """Two separate `torchrun --nnodes 2` launches (one per "machine") meet at a c10d rendezvous
    endpoint on 127.0.0.1 and train one model with gloo; both end with rank 0's saved weights."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = tmp_path / "model"
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
              "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "twoface-test",
              "-m", "twoface.cli", "train", "--distributed", "--faces-a", str(faces_a), "--faces-b", str(faces_b),
              "-m", str(model), *tiny_cli_args(), "--batch-size", "4", "--iterations", "4", "--save-every", "2",
              "--log-every", "2", "--no-quality", "--no-tensorboard", "--seed", "5", "--precision", "fp32"]
    nodes = [subprocess.Popen(launch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env())
             for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=600)[0] for p in nodes]
    finally:
        for p in nodes:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in nodes] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    main = [o for o in outputs if "weights agree on all" in o]
    assert len(main) == 1, "exactly one launch holds global rank 0"
    assert "2 processes" in main[0]
    printed = main[0].split("weights agree on all 2 processes (sha256 ")[1].split(")")[0]
    model_obj, _ = ck.load_model(model)
    assert weights_digest(model_obj).startswith(printed)
    state = json.loads((model / "state.json").read_text())
    assert state["iteration"] == 4 and state["world_size"] == 2
    assert len({rank["a"]["seed"] for rank in state["data"]}) == 2
