"""Helpers of the batch tests: a tiny real manifest on the GRID dev clips, and the CLI in a subprocess.

The manifest is the smallest complete dataset job: extract G7 (pwij3p) and G1 (bbaf2n), train a
tiny model (``custom`` at 64 px, 10 iterations), convert G7's *other* clip (id2_vcd_swwp2s)
a2b and G1's clip b2a (8 swapped frames each, every frame written), and list G7's clip as real.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
GRID = "multi_identity/grid"
TINY = {"input_size": 64, "output_size": 64, "encoder_width": 8, "max_width": 32, "latent": 32, "decoder_width": 32}
DEFAULTS = {
    "extract": {"size": 64, "every": 3},
    "train": {"arch": "custom", "options": TINY, "iterations": 10, "batch_size": 4, "seed": 3, "quality": False,
              "save_every": 1000, "preview_every": 1000, "eval_every": 1000, "log_every": 5, "precision": "fp32"},
    "convert": {"frames": "0-7", "preset": "ultrafast", "precision": "fp32"},
}


def jobs(data: Path, pins: dict[str, str] | None = None) -> list[dict]:
    """The five jobs (+ one real listing); ``pins`` maps job id -> a custom resource of one node."""
    g = data / GRID
    out = [
        {"id": "ext-g7", "kind": "extract", "input": str(g / "pwij3p.mpg"), "faces": "faces/g7",
         "store": "stores/g7.db", "identity": "G7"},
        {"id": "ext-g1", "kind": "extract", "input": str(g / "bbaf2n.mpg"), "faces": "faces/g1",
         "store": "stores/g1.db", "identity": "G1"},
        {"id": "g7-g1", "kind": "train", "faces_a": "faces/g7", "faces_b": "faces/g1", "model": "models/g7-g1"},
        {"id": "swap-g7", "kind": "convert", "input": str(g / "id2_vcd_swwp2s.mpg"), "model": "models/g7-g1",
         "output": "out/g7_as_g1.mp4"},
        {"id": "swap-g1", "kind": "convert", "input": str(g / "bbaf2n.mpg"), "model": "models/g7-g1",
         "output": "out/g1_as_g7.mp4", "direction": "b2a"},
        {"id": "real-g7", "kind": "real", "input": str(g / "id2_vcd_swwp2s.mpg"), "identity": "G7"},
    ]
    for job in out:
        if pins and job["id"] in pins:
            job["resources"] = {pins[job["id"]]: 1}
    return out


def write_manifest(folder: Path, job_list: list[dict], fmt: str = "yaml", name: str = "jobs") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "yaml":
        import yaml

        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"defaults": DEFAULTS, "jobs": job_list}, sort_keys=False))
    else:
        path = folder / f"{name}.jsonl"
        lines = [json.dumps({"defaults": DEFAULTS})] + [json.dumps(j) for j in job_list]
        path.write_text("\n".join(lines) + "\n")
    return path


def env(extra_path: str | None = None) -> dict:
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", RAY_USAGE_STATS_ENABLED="0")
    paths = [p for p in (extra_path, str(SRC), e.get("PYTHONPATH")) if p]
    e["PYTHONPATH"] = os.pathsep.join(paths)
    return e


def run_batch(manifest: Path, *args: str, extra_path: str | None = None, timeout: float = 600):
    cmd = [sys.executable, "-m", "twoface.cli", "batch", str(manifest), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env(extra_path), timeout=timeout)


def summary(manifest: Path) -> dict:
    return json.loads((manifest.parent / f"{manifest.stem}.batch" / "summary.json").read_text())


def dataset(manifest: Path) -> list[dict]:
    text = (manifest.parent / f"{manifest.stem}.batch" / "dataset.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def by_id(s: dict) -> dict[str, dict]:
    return {j["id"]: j for j in s["jobs"]}


def check_dataset(lines: list[dict], folder: Path) -> None:
    """The dataset lines describe the files on disk: label, identities, model, frames, sha256."""
    from twoface.fsutil import sha256_file

    synthetic = {Path(x["path"]).name: x for x in lines if x["label"] == "synthetic"}
    real = [x for x in lines if x["label"] == "real"]
    assert set(synthetic) == {"g7_as_g1.mp4", "g1_as_g7.mp4"}
    a2b, b2a = synthetic["g7_as_g1.mp4"], synthetic["g1_as_g7.mp4"]
    assert (a2b["source_identity"], a2b["target_identity"]) == ("G7", "G1")
    assert (b2a["source_identity"], b2a["target_identity"]) == ("G1", "G7")
    assert a2b["source_video"].endswith("id2_vcd_swwp2s.mpg")
    for line in synthetic.values():
        assert line["model"] == str(folder / "models" / "g7-g1")
        assert line["arch"] == "custom" and line["iteration"] == 10
        assert line["frames"] == 75, "every frame of the 75-frame clip is written"
        assert line["convert_settings"]["frames"] == "0-7"
        assert line["sha256"] == sha256_file(line["path"])
    assert len(real) == 1 and real[0]["identity"] == "G7" and real[0]["frames"] == 75
    assert real[0]["sha256"] == sha256_file(real[0]["path"])
