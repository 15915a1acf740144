"""Manifest checks: every problem is found before any job runs, as one line naming the file and line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from batch_helpers import env

from twoface.batch.manifest import ManifestError, load_manifest


@pytest.fixture
def clip(tmp_path):
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"not checked until the job runs")
    return p


def _yaml(tmp_path, text: str):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


def _error(path) -> str:
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    return str(err.value)


def test_dependencies_implied_by_paths_and_after(tmp_path, clip):
    m = load_manifest(_yaml(tmp_path, f"""
defaults:
  train: {{iterations: 5}}
jobs:
  - {{id: a, kind: extract, input: {clip}, faces: faces/a}}
  - {{id: b1, kind: extract, input: {clip}, faces: faces/b, store: s/b1.db}}
  - {{id: b2, kind: extract, input: {clip}, faces: faces/b, store: s/b2.db}}
  - {{id: ab, kind: train, faces_a: faces/a, faces_b: faces/b, model: models/ab}}
  - {{id: swap, kind: convert, input: {clip}, model: models/ab, output: out/x.mp4, store: s/b1.db}}
  - {{id: last, kind: real, input: {clip}, after: swap}}
"""))
    jobs = m.by_id()
    assert jobs["ab"].after == ["a", "b1", "b2"]  # both extracts that fill faces/b
    assert sorted(jobs["swap"].after) == ["ab", "b1"]
    assert jobs["last"].after == ["swap"]
    assert jobs["ab"].options["iterations"] == 5 and jobs["ab"].paths["model"] == str(tmp_path / "models/ab")
    assert jobs["a"].paths["store"] == str(clip) + ".twoface.db"  # the stage's default, made explicit


@pytest.mark.parametrize("job, line, words", [
    ("{kind: extract, input: CLIP, sise: 64}", 3, ["unknown key(s) sise", "fields of the extract stage"]),
    ("{kind: extract, input: CLIP, size: 10}", 3, ["--size must be from 32 to 2048, got 10"]),
    ("{kind: convert, input: CLIP, model: nowhere, output: o.mp4}", 3, ["nowhere does not exist and no job"]),
    ("{kind: train, faces_a: x, faces_b: y, model: m}", 3, ["missing iterations"]),
    ("{kind: train, faces_a: x, faces_b: y, model: m, iterations: 2.5}", 3,
     ["iterations must be a whole number"]),
    ("{kind: convert, input: CLIP, model: CLIP, output: o.mp4, color: sepia}", 3, ["--color must be one of"]),
    ("{kind: convert, input: CLIP, model: CLIP, output: o.mp4, overwrite: true}", 3, ["unknown key(s) overwrite"]),
    ("{kind: resize, input: CLIP}", 3, ["'kind' must be one of extract, train, convert, real"]),
    ("{kind: real, input: CLIP, after: ghost}", 3, ["'after' names 'ghost'"]),
    ("{kind: real, input: CLIP, num_gpus: -1}", 3, ["num_gpus >= 0"]),
])
def test_bad_job_names_file_line_and_problem(tmp_path, clip, job, line, words):
    text = "jobs:\n  - {kind: real, input: CLIP}\n  - " + job + "\n"
    path = _yaml(tmp_path, text.replace("CLIP", str(clip)))
    text = _error(path)
    assert text.startswith(f"{path}: line {line}: ")
    for w in words:
        assert w in text


def test_graph_problems(tmp_path, clip):
    cycle = _yaml(tmp_path, f"""jobs:
  - {{id: x, kind: real, input: {clip}, after: y}}
  - {{id: y, kind: real, input: {clip}, after: x}}
""")
    assert "depend on each other in a circle: x -> y -> x" in _error(cycle)
    twice = _yaml(tmp_path, f"""jobs:
  - {{id: c1, kind: convert, input: {clip}, model: {clip}, output: same.mp4}}
  - {{id: c2, kind: convert, input: {clip}, model: {clip}, output: same.mp4}}
""")
    assert "line 3: job 'c2':" in _error(twice) and "also written by job 'c1' (line 2)" in _error(twice)
    z = f"{{id: z, kind: real, input: {clip}}}"
    dup = _yaml(tmp_path, f"jobs:\n  - {z}\n  - {z}\n")
    assert "line 3: job id 'z' is used twice (also on line 2)" in _error(dup)


def test_syntax_errors_name_the_line(tmp_path, clip):
    bad_yaml = _yaml(tmp_path, "jobs:\n  - {kind: real, input: a\n  - {kind: real}\n")
    assert "not valid YAML" in _error(bad_yaml) and ": line " in _error(bad_yaml)
    jl = tmp_path / "m.jsonl"
    jl.write_text(json.dumps({"kind": "real", "input": str(clip)}) + "\n\n{\"kind\": \"real\", \n")
    assert _error(jl).startswith(f"{jl}: line 3: not valid JSON")
    other = tmp_path / "m.txt"
    other.write_text("x")
    assert "name it .yaml/.yml (YAML) or .jsonl" in _error(other)


def test_cli_exit_2_one_line_no_traceback(tmp_path, clip):
    path = _yaml(tmp_path, f"jobs:\n  - {{kind: extract, input: {clip}, every: 0}}\n")
    cmd = [sys.executable, "-m", "twoface.cli", "batch", str(path), "--local", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=120)
    assert r.returncode == 2
    want = f"twoface batch: error: {path}: line 2: job 'extract-1': --every must be 1 or more, got 0"
    assert r.stderr.strip() == want
    assert not (tmp_path / "m.batch").exists(), "nothing is written for a manifest that cannot run"
