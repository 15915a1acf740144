"""The checkpoint protocol: whatever moment a save dies at, a complete checkpoint stays loadable.

The death is injected by making the N-th file rename of a save raise (the process "dies"
there); every N from the first rename to the last is tried. The end-to-end kill -9 test
on a real training process is in test_train_cli.py.
"""
from __future__ import annotations

import json
import os

import pytest
import torch

from twoface.errors import ModelError, OutputError
from twoface.train import checkpoint as ck
from twoface.train import rng


class Died(BaseException):
    pass


def tensors(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"encoder.w": torch.randn(8, 4, generator=g), "decoder_a.w": torch.randn(3, generator=g),
            "decoder_b.w": torch.randn(5, 2, generator=g)}


def save(model_dir, iteration: int, previous):
    config = {"format": ck.FORMAT, "arch": "tiny", "options": {}}
    opt = {"state.0.exp_avg": torch.full((4,), float(iteration))}
    return ck.save_checkpoint(model_dir, config, tensors(iteration), opt, {"lr": 1e-4, "it": iteration},
                              {"iteration": iteration}, previous)


def assert_consistent(c: ck.Checkpoint) -> None:
    it = c.iteration
    w, _ = c.tensors(ck.WEIGHTS)
    o, meta = c.tensors(ck.OPTIMIZER)
    assert all(torch.equal(w[k], v) for k, v in tensors(it).items()), f"weights do not belong to iteration {it}"
    assert float(o["state.0.exp_avg"][0]) == it and meta["it"] == it


def test_round_trip_and_prev(tmp_path):
    c1 = save(tmp_path, 1, None)
    c2 = save(tmp_path, 2, c1)
    found = ck.find_checkpoint(tmp_path)
    assert found.iteration == 2 and not found.fell_back
    assert_consistent(found)
    assert (tmp_path / "weights.safetensors.prev").exists() and (tmp_path / "state.json.prev").exists()
    assert c2.locations == found.locations
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("die_at", range(1, 11))
def test_save_dying_at_any_rename_leaves_a_complete_checkpoint(tmp_path, monkeypatch, die_at):
    c1 = save(tmp_path, 1, None)
    c2 = save(tmp_path, 2, c1)
    calls = {"n": 0}
    real_replace = os.replace

    def dying_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == die_at:
            raise Died()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(Died):
        save(tmp_path, 3, c2)
    monkeypatch.setattr(os, "replace", real_replace)
    found = ck.find_checkpoint(tmp_path)
    assert found.iteration in (2, 3)
    assert_consistent(found)
    # the next save from the recovered checkpoint, dying again, still leaves one loadable
    calls["n"] = 0
    monkeypatch.setattr(os, "replace", dying_replace)
    try:  # a save from a recovered checkpoint renames less, so it may finish before the death
        save(tmp_path, 4, found)
    except Died:
        pass
    monkeypatch.setattr(os, "replace", real_replace)
    again = ck.find_checkpoint(tmp_path)
    assert again.iteration in (found.iteration, 4)
    assert_consistent(again)
    final = save(tmp_path, 5, again)
    assert ck.find_checkpoint(tmp_path).iteration == 5 == final.iteration


def test_rename_count_covers_every_step(tmp_path, monkeypatch):
    """The parametrised range above must reach past the last rename of a save."""
    c1 = save(tmp_path, 1, None)
    n = {"n": 0}
    real_replace = os.replace

    def counting(src, dst):
        n["n"] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting)
    save(tmp_path, 2, c1)
    assert 1 < n["n"] <= 10


def test_damaged_weights_fall_back_or_are_named(tmp_path):
    c1 = save(tmp_path, 1, None)
    path = tmp_path / ck.WEIGHTS
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="weights.safetensors"):
        ck.find_checkpoint(tmp_path)
    path.write_bytes(data)
    save(tmp_path, 2, c1)
    path.write_bytes(b"garbage")
    found = ck.find_checkpoint(tmp_path)
    assert found.iteration == 1 and found.fell_back
    assert_consistent(found)


def test_foreign_folders_refused(tmp_path):
    (tmp_path / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(OutputError, match="not a twoface model"):
        ck.check_not_foreign(tmp_path)
    other = tmp_path / "m"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ModelError, match="config.json"):
        ck.check_not_foreign(other)
    ck.check_not_foreign(tmp_path / "new")  # a folder that does not exist yet is fine


def test_lock_refuses_a_second_trainer(tmp_path):
    with ck.locked(tmp_path):
        with pytest.raises(OutputError, match="another"):
            with ck.locked(tmp_path):
                pass
    with ck.locked(tmp_path):  # released
        pass


def test_rng_states_round_trip_through_json():
    import random

    import numpy as np

    rng.seed_everything(7)
    state = json.loads(json.dumps(rng.capture()))
    first = (torch.rand(3), np.random.rand(3), random.random())
    rng.seed_everything(99)
    rng.restore(state)
    second = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1]) and first[2] == second[2]
    g = torch.Generator().manual_seed(3)
    s = rng.generator_state(g)
    a = torch.rand(4, generator=g)
    rng.set_generator_state(g, s)
    assert torch.equal(a, torch.rand(4, generator=g))


def test_folder_killed_during_its_first_save_is_still_ours(tmp_path):
    """Only temp files and a lock: a first save died half-way. Training may go on in this folder."""
    (tmp_path / ".lock").touch()
    (tmp_path / ".config.json.abc123.json.tmp").write_text("{")
    (tmp_path / "weights.safetensors.tmp").write_bytes(b"half")
    (tmp_path / "logs").mkdir()
    ck.check_not_foreign(tmp_path)
    assert ck.find_checkpoint(tmp_path) is None
    assert ck.clean_temp(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "logs"]
