"""Hostile stores and model folders of issue 9: each refused with exit 2 and one line naming the
file and the problem, none left changed."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from reliab_helpers import assert_refused, run_cli, tree_hashes

from twoface.store import alignments


@pytest.fixture
def store(small_faces, tmp_path):
    p = tmp_path / "clip.twoface.db"
    shutil.copy(small_faces["a_store"], p)
    return p


def _sql(path, *statements):
    db = sqlite3.connect(path)
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()


ROWS = {
    "landmarks-7-bytes": ("UPDATE face SET landmarks = x'00112233445566' WHERE rowid = 1", "'landmarks'"),
    "landmarks-text": ("UPDATE face SET landmarks = 'oops' WHERE rowid = 1", "'landmarks'"),
    "identity-text": ("UPDATE face SET identity = 'abc' WHERE rowid = 1", "'identity'"),
    "identity-odd-length": ("UPDATE face SET identity = x'000000' WHERE rowid = 1", "'identity'"),
    "extra-bad-json": ("UPDATE face SET extra = '{not json' WHERE rowid = 1", "'extra'"),
    "score-text": ("UPDATE face SET score = 'high' WHERE rowid = 1", "'score'"),
    "rotation-45": ("UPDATE face SET rotation = 45 WHERE rowid = 1", "'rotation'"),
    "landmarks-nan": ("UPDATE face SET landmarks = x'0000c07f0000c07f' WHERE rowid = 1", "'landmarks'"),
}


@pytest.mark.parametrize("case", sorted(ROWS))
def test_bad_store_rows(case, store, small_faces, tmp_path, capfd):
    statement, needle = ROWS[case]
    _sql(store, statement)
    before = tree_hashes(store)
    assert_refused(run_cli(capfd, "prune", "--store", store, "--faces", small_faces["a"], "--dry-run"),
                   store, "damaged store row", needle)
    assert tree_hashes(store) == before


TAMPER = {
    "last-frame-negative": ("UPDATE progress SET last_frame = -5", "progress.last_frame"),
    "last-frame-text": ("UPDATE progress SET last_frame = 'x'", "progress.last_frame"),
    "user-version-negative": ("PRAGMA user_version = -1", "schema version is -1"),
    "user-version-0": ("PRAGMA user_version = 0", "schema version is 0"),
    "user-version-1": ("PRAGMA user_version = 1", "newer table(s) frame"),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_store_is_refused(case, store, small_faces, tmp_path, capfd):
    statement, needle = TAMPER[case]
    _sql(store, statement)
    before = tree_hashes(store)
    res = run_cli(capfd, "extract", small_faces["a_clip"], "-o", tmp_path / "f", "--store", store,
                  "--every", "3", "--size", "64", "--no-progress")
    assert_refused(res, store, "damaged store", needle)
    assert tree_hashes(store) == before


def test_locked_store_names_the_holder(store, small_faces, tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(alignments, "BUSY_TIMEOUT_S", 0.5)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = tree_hashes(store)
        t0 = time.monotonic()
        res = run_cli(capfd, "extract", small_faces["a_clip"], "-o", tmp_path / "f", "--store", store,
                      "--every", "3", "--size", "64", "--no-progress")
        line = assert_refused(res, store, "is locked by pid", str(holder.pid), "waited 0.5 s")
        assert time.monotonic() - t0 < 30, line
        assert tree_hashes(store) == before
    finally:
        holder.kill()
        holder.wait()


SETPRIV = shutil.which("setpriv")


def _unprivileged() -> list[str]:
    """A command prefix under which file permissions bind (root keeps its uid, loses DAC override)."""
    if os.geteuid() != 0:
        return []
    if SETPRIV is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to bind")
    caps = "-dac_override,-dac_read_search"
    return [SETPRIV, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_read_only_store_is_said_so(store, small_faces, tmp_path):
    faces = tmp_path / "faces"
    shutil.copytree(small_faces["a"], faces)
    os.chmod(store, 0o444)
    before = tree_hashes(store)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), OMP_NUM_THREADS="1")
    for args in (["prune", "--store", store, "--faces", faces],
                 ["extract", small_faces["a_clip"], "-o", faces, "--store", store, "--every", "3", "--size", "64"]):
        res = subprocess.run([*_unprivileged(), sys.executable, "-m", "twoface.cli", *map(str, args)],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and str(store) in lines[0] and "is read-only" in lines[0], res.stderr
    assert tree_hashes(store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.twoface.db", "faces"]  # no -wal or -shm


# ---- model folders ----------------------------------------------------------------------------
def _train_args(small_faces, model):
    return ["train", "--faces-a", small_faces["a"], "--faces-b", small_faces["b"], "-m", model,
            "--arch", "custom", *[a for k, v in {"input_size": 64, "output_size": 64, "encoder_width": 8,
                                               "max_width": 32, "latent": 32, "decoder_width": 32}.items()
                                  for a in ("--option", f"{k}={v}")],
            "--batch-size", "4", "--iterations", "3", "--no-quality", "--no-tensorboard", "--holdout", "0.1"]


STATES = {
    "iteration-negative": (lambda s: s.update(iteration=-5), "'iteration'"),
    "iteration-string": (lambda s: s.update(iteration="lots"), "'iteration'"),
    "iteration-huge": (lambda s: s.update(iteration=10**40), "'iteration'"),
    "rng-garbage": (lambda s: s.update(rng=[{"torch": "!!!not base64"}]), "rng[0].torch"),
    "rng-numpy-short": (lambda s: s["rng"][0]["numpy"].update(key=[1, 2, 3]), "rng[0].numpy.key"),
    "newer-format": (lambda s: s.update(format_version=99), "newer twoface"),
}


@pytest.mark.parametrize("case", sorted(STATES))
def test_bad_state_json(case, model_copy, small_faces, capfd):
    change, needle = STATES[case]
    path = model_copy / "state.json"
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))
    before = tree_hashes(model_copy)
    assert_refused(run_cli(capfd, *_train_args(small_faces, model_copy)), path, needle)
    assert tree_hashes(model_copy) == before


def test_deeply_nested_state_and_config(model_copy, small_faces, capfd):
    state = model_copy / "state.json"
    state.write_text(state.read_text()[:-2] + ', "x": ' + "[" * 50000 + "]" * 50000 + "}\n")
    before = tree_hashes(model_copy)
    assert_refused(run_cli(capfd, *_train_args(small_faces, model_copy)), state, "nested too deeply")
    assert tree_hashes(model_copy) == before
    config = model_copy / "config.json"
    config.write_text('{"format": "twoface-model", "x": ' + "{\"a\": " * 40000 + "1" + "}" * 40000 + "}")
    assert_refused(run_cli(capfd, "inspect", model_copy), config, "nested too deeply")


def test_newer_config_is_refused_by_convert_and_evaluate(model_copy, small_faces, tmp_path, capfd):
    config = model_copy / "config.json"
    cfg = json.loads(config.read_text())
    cfg["format_version"] = 2
    config.write_text(json.dumps(cfg))
    before = tree_hashes(model_copy)
    out = tmp_path / "out.mp4"
    assert_refused(run_cli(capfd, "convert", small_faces["a_clip"], "-m", model_copy, "-o", out, "--no-progress"),
                   config, "newer twoface")
    assert_refused(run_cli(capfd, "evaluate", "-m", model_copy, "--faces-a", small_faces["a"], "--faces-b",
                           small_faces["b"], "-o", tmp_path / "r.json", "--quiet"), config, "newer twoface")
    assert tree_hashes(model_copy) == before and not out.exists() and not (tmp_path / "r.json").exists()


def test_nan_weights_and_bad_safetensors_header(model_copy, small_faces, tmp_path, capfd):
    from safetensors.torch import load_file, save_file

    weights = model_copy / "weights.safetensors"
    tensors = load_file(str(weights))
    save_file({k: v.float().fill_(float("nan")) if v.is_floating_point() else v for k, v in tensors.items()},
              str(weights), metadata={"format": "pt", "twoface": "{}"})
    (model_copy / "state.json").unlink()  # config.json + weights only: the hand-assembled layout convert reads
    before = tree_hashes(model_copy)
    out = tmp_path / "out.mp4"
    args = ["convert", small_faces["a_clip"], "-m", model_copy, "-o", out, "--no-progress"]
    assert_refused(run_cli(capfd, *args), weights, "NaN or infinite")
    assert tree_hashes(model_copy) == before and not out.exists()
    data = bytearray(weights.read_bytes())
    data[0:8] = (10**12).to_bytes(8, "little")  # a header length beyond the file
    weights.write_bytes(bytes(data))
    assert_refused(run_cli(capfd, *args), weights, "header claims")
    weights.write_bytes(bytes(data[:8]) + b"[" * 100)
    weights.write_bytes((100).to_bytes(8, "little") + b"[" * 100 + b"\x00" * 64)
    assert_refused(run_cli(capfd, *args), weights, "damaged safetensors header")
