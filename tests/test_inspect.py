"""`twoface inspect` on every kind of artefact, and a clean refusal of anything else."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twoface.inspect import inspect_path
from twoface.store import AlignmentsStore, list_face_files, read_face
from twoface_testing import cached_extract

CLI = [sys.executable, "-m", "twoface.cli"]


def twoface(*args) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True)


@pytest.fixture()
def cli(capsys):
    """The CLI in this process (no interpreter start-up): returns exit code, stdout, stderr."""
    from twoface.cli import main

    def run(*args) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)
    return run


@pytest.fixture()
def inspect_json(cli):
    def run(path: Path) -> dict:
        res = cli("inspect", path, "--json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)
    return run


@pytest.fixture(scope="module")
def two_faces(data_dir, shared_cache) -> Path:
    # the same options as tests/test_extract.py and tests/curate, so the suite extracts this clip once
    return cached_extract(shared_cache, data_dir / "convert/two_faces_side_by_side.mp4", size=96)


def test_face_png(two_faces, inspect_json):
    path = list_face_files(two_faces / "faces")[7]
    image, meta = read_face(path)
    info = inspect_json(path)
    assert info["kind"] == "face image"
    assert info["source"] == {"path": meta.source_path, "fingerprint": meta.source_fingerprint,
                              "frame": meta.frame, "face": meta.face}
    assert info["source"]["path"].endswith("two_faces_side_by_side.mp4")
    assert info["size"] == 96 and info["image_size"] == [96, 96]
    assert info["landmarks"] == 478 and info["landmark_scheme"].startswith("478")
    assert info["identity"] == "128-D embedding"
    assert info["pose"]["yaw"] == pytest.approx(meta.pose[0], abs=0.01)
    assert info["sharpness"] > 0 and info["blur_stored"] == meta.blur
    # the readable form names the same things
    res = twoface("inspect", path)
    assert res.returncode == 0 and "face image" in res.stdout and "478" in res.stdout
    assert str(meta.frame) in res.stdout


def test_face_folder_and_store(two_faces, inspect_json):
    info = inspect_json(two_faces / "faces")
    assert info["kind"] == "face folder"
    n = len(list_face_files(two_faces / "faces"))
    assert info["faces"] == n and len(info["sources"]) == 1 and info["sorts_to_undo"] == []
    store = next((two_faces / "stores").glob("*.twoface.db"))
    info = inspect_json(store)
    with AlignmentsStore.open(store, readonly=True) as db:
        assert info["faces"] == db.face_count() == n
        assert info["schema_version"] == db.version
        assert info["source"]["fingerprint"] == db.source.fingerprint
    assert info["kind"] == "alignments store" and info["faces_with_identity"] == n
    assert info["options"]["size"] == 96
    res = twoface("inspect", store)
    assert res.returncode == 0 and "alignments store" in res.stdout and "schema version" in res.stdout


def test_model_folder(tmp_path, cli, inspect_json):
    import torch

    from twoface.models import build
    from twoface.train import checkpoint as ck

    model = build("custom", input_size=64, output_size=128, encoder_width=8, max_width=32, latent=32,
                  decoder_width=16)
    config = {"format": ck.FORMAT, "arch": model.arch, "options": dict(model.options),
              "input_size": model.input_size, "output_size": model.output_size, "learn_mask": model.learn_mask}
    ck.save_checkpoint(tmp_path / "m", config, model.state_dict(), {"state.0.step": torch.zeros(1)}, {},
                       {"iteration": 1234}, None)
    info = inspect_json(tmp_path / "m")
    assert info["kind"] == "model" and info["arch"] == "custom"
    assert info["iterations"] == 1234
    assert info["input_size"] == 64 and info["output_size"] == 128
    assert info["parameters"] == sum(t.numel() for t in model.state_dict().values())
    assert set(info["parameters_by_part"]) == {"encoder", "decoder_a", "decoder_b"}
    assert {"config.json", "weights.safetensors", "state.json"} <= set(info["files"])
    assert info["options"]["encoder_width"] == 8
    # the weights file alone
    w = inspect_json(tmp_path / "m" / "weights.safetensors")
    assert w["kind"] == "weights file" and w["parameters"] == info["parameters"]
    # a truncated weights file is named, not loaded
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((tmp_path / "m" / "weights.safetensors").read_bytes()[:5000])
    res = cli("inspect", bad)
    assert res.returncode == 2 and "truncated" in res.stderr


def test_plain_video_and_image(data_dir, inspect_json):
    info = inspect_json(data_dir / "multi_identity/grid/bbaf2n.mpg")
    assert info["kind"] == "video" and (info["width"], info["height"]) == (360, 288)
    assert info["synthetic_label"] is None and info["watermark"]["found"] is False
    assert info["synthetic"] is False and info["watermark"]["frames_checked"] > 0
    assert info["content_credentials"]["state"] == "absent"
    res = twoface("inspect", data_dir / "convert/no_face_coffee.png")
    assert res.returncode == 0 and "image" in res.stdout
    assert "no synthetic label, no watermark" in res.stdout
    info = inspect_json(data_dir / "convert/two_people_obama_biden.jpg")
    assert info["kind"] == "image" and info["width"] == 1126 and info["synthetic"] is False


def test_refuses_unknown_things_in_one_line(tmp_path, cli):
    cases = {
        "random.bin": bytes(range(256)) * 40,
        "notes.txt": b"shopping list\n",
        "fake.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 500,
        "config.json": b'{"name": "someone else"}',
        "empty.png": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        res = cli("inspect", tmp_path / name)
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in res.stderr, (name, res.stderr)
    res = cli("inspect", tmp_path / "missing.png")
    assert res.returncode == 2 and "no such file" in res.stderr
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "readme.txt").write_text("hi")
    res = cli("inspect", tmp_path / "d")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    with pytest.raises(Exception) as err:
        inspect_path(tmp_path / "random.bin")
    assert "is not something twoface knows" in str(err.value)


def grid_frames(data_dir, n: int):
    import av

    with av.open(str(data_dir / "multi_identity/grid/sbia1a.mpg")) as c:
        return [f.to_ndarray(format="bgr24") for _, f in zip(range(n), c.decode(video=0))]


def test_converted_outputs_show_label_and_watermark(data_dir, tmp_path, inspect_json):
    """Outputs written the way convert writes them (media writers, watermark on) are recognised."""
    from twoface.media.writer import open_writer

    frames = grid_frames(data_dir, 12)
    h, w = frames[0].shape[:2]
    with open_writer(tmp_path / "swapped.mp4", fps=25, size=(w, h), watermark=True) as out:
        for i, f in enumerate(frames):
            out.write(f, i)
    with open_writer(tmp_path / "frames", kind="images", watermark=True) as out:
        for i, f in enumerate(frames[:4]):
            out.write(f, i)

    video = inspect_json(tmp_path / "swapped.mp4")
    assert video["kind"] == "video" and video["frames"] == 12
    assert video["synthetic_label"]["tag"].startswith("synthetic:twoface/")
    assert video["watermark"]["found"] is True and video["synthetic"] is True
    assert video["watermark"]["frames_checked"] == 12
    credentials = video["content_credentials"]
    assert credentials["state"] == "valid" and credentials["digital_source_type"].endswith("trainedAlgorithmicMedia")

    folder = inspect_json(tmp_path / "frames")
    assert folder["kind"] == "image folder" and folder["images"] == 4 and folder["labelled_synthetic"] == 4
    assert folder["watermark"]["found"] is True

    one = sorted((tmp_path / "frames").iterdir())[0]
    image = inspect_json(one)
    assert image["kind"] == "image" and image["synthetic_label"] is not None and image["watermark"]["found"]
    res = twoface("inspect", tmp_path / "swapped.mp4")
    assert res.returncode == 0 and "synthetic:twoface/" in res.stdout
    assert "no synthetic label" not in res.stdout
