"""`twoface train` as users run it: bad inputs, Ctrl-C, SIGTERM and kill -9, in real subprocesses."""
from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import threading
import time

import cv2
import pytest
from train_helpers import cli_env, run_cli, tiny_cli_args, twoface_cmd

from twoface.store.metadata import list_face_files
from twoface.train import checkpoint as ck
from twoface.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def base_args(faces_a, faces_b, model_dir, *extra: str) -> list[str]:
    return ["train", "--faces-a", str(faces_a), "--faces-b", str(faces_b), "-m", str(model_dir), *tiny_cli_args(),
            "--batch-size", "8", "--no-quality", "--no-tensorboard", "--seed", "5", *extra]


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], err[-2000:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("twoface train: error:"), err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


def snapshot_bytes(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".lock"}


def test_bad_inputs_give_one_clear_line(faces_a, faces_b, tmp_path, tiny_kwargs):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_cli(*base_args(empty, faces_b, tmp_path / "m1")), str(empty), "empty")
    assert not (tmp_path / "m1").exists(), "a refused run must not leave a model folder behind"

    few = tmp_path / "few"
    few.mkdir()
    for png in list_face_files(faces_a)[:3]:
        shutil.copy(png, few / png.name)
    assert_clean_error(run_cli(*base_args(faces_a, few, tmp_path / "m2")), str(few), "batch size 8")

    plain = tmp_path / "plain"
    plain.mkdir()
    for i, png in enumerate(list_face_files(faces_b)[:10]):
        cv2.imwrite(str(plain / f"face{i}.png"), cv2.imread(str(png)))  # the pixels without the metadata
    assert_clean_error(run_cli(*base_args(faces_a, plain, tmp_path / "m3")), str(plain), "no twoface metadata")

    late = run_cli(*base_args(faces_a, faces_b, tmp_path / "m4", "--warp-stop", "1.5"))
    assert_clean_error(late, "--warp-stop is a share of the budget in [0, 1), got 1.5")
    assert not (tmp_path / "m4").exists()

    stranger = tmp_path / "holiday"
    stranger.mkdir()
    (stranger / "beach.jpg").write_bytes(b"\xff\xd8 not really")
    assert_clean_error(run_cli(*base_args(faces_a, faces_b, stranger)), "not a twoface model folder")
    assert [p.name for p in stranger.iterdir()] == ["beach.jpg"]

    model = tmp_path / "model"
    train(faces_a, faces_b, model, iterations=1, **tiny_kwargs)
    before = snapshot_bytes(model)
    other = run_cli(*base_args(faces_a, faces_b, model, "--arch", "lightweight"))
    assert_clean_error(other, "'custom'", "'lightweight'", "config.json")
    assert snapshot_bytes(model) == before, "a refused resume must leave the model folder as it was"

    weights = model / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    before = snapshot_bytes(model)
    assert_clean_error(run_cli(*base_args(faces_a, faces_b, model)), "weights.safetensors", "damaged or truncated")
    assert snapshot_bytes(model) == before


class Running:
    """A `twoface train` subprocess whose output is collected line by line as it comes."""

    def __init__(self, args: list[str]):
        self.proc = subprocess.Popen(twoface_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=cli_env())
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = [threading.Thread(target=self._pump, args=(s, b), daemon=True)
                        for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def wait_for(self, predicate, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"condition not met; rc={self.proc.poll()}\n{''.join(self.out)[-3000:]}"
                             f"\n{''.join(self.err)[-3000:]}")

    def iterations_logged(self) -> list[int]:
        return [int(line.split()[2]) for line in list(self.out) if line.split()[1:2] == ["it"] and "faces/s" in line]

    def finish(self, timeout: float = 120) -> int:
        rc = self.proc.wait(timeout=timeout)
        for t in self.threads:
            t.join(timeout=10)
        return rc


@pytest.mark.parametrize("sig,code,name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
                         ids=["sigint", "sigterm"])
def test_signal_saves_and_exits(faces_a, faces_b, tmp_path, sig, code, name):
    model = tmp_path / "model"
    run = Running(base_args(faces_a, faces_b, model, "--iterations", "100000", "--save-every", "100000",
                            "--log-every", "1", "--eval-every", "100000", "--preview-every", "100000"))
    run.wait_for(lambda: len(run.iterations_logged()) >= 3)
    run.proc.send_signal(sig)
    rc = run.finish()
    err = "".join(run.err)
    assert rc == code, err[-3000:]
    assert "Traceback" not in err
    assert f"stopped by {name}" in err
    line = next(x for x in err.splitlines() if "stopped by" in x)
    stopped_at = int(line.split("at iteration ")[1].split(";")[0])
    assert stopped_at >= 3
    found = ck.find_checkpoint(model)
    assert found.iteration == stopped_at and not found.fell_back
    assert max(run.iterations_logged()) <= stopped_at


def test_kill_9_never_leaves_an_unloadable_model(faces_a, faces_b, tmp_path):
    """Kill -9 at random moments of a run that saves after every step; the folder always loads,
    and the next run resumes at exactly the iteration of the last complete save."""
    model = tmp_path / "model"
    args = base_args(faces_a, faces_b, model, "--iterations", "100000", "--save-every", "1", "--log-every", "1",
                     "--eval-every", "100000", "--preview-every", "100000")
    rnd = random.Random(1234)
    last = 0
    torn = 0
    for attempt in range(4):
        run = Running(args)
        # let it get past start-up and save at least once more than before, then kill at a random moment:
        # iteration k is logged before its save, so a logged last + 2 means the save of last + 1 is complete
        run.wait_for(lambda: any(i > last + 1 for i in run.iterations_logged()), timeout=180)  # noqa: B023 (called at once, inside the loop)
        time.sleep(rnd.uniform(0.0, 0.4))
        run.proc.kill()
        assert run.finish() == -signal.SIGKILL
        torn += bool(list(model.glob("*.tmp")))
        found = ck.find_checkpoint(model)  # raises if nothing complete is left
        assert found is not None and found.iteration >= last
        model_obj, _ = ck.load_model(model)
        assert model_obj is not None
        if attempt:
            assert f"resuming at iteration {last}" in "".join(run.out)
        last = found.iteration
    final = run_cli(*args[:args.index("--iterations")], "--iterations", str(last + 2), "--save-every", "1",
                    "--log-every", "1", "--eval-every", "100000", "--preview-every", "100000")
    assert final.returncode == 0, final.stderr[-3000:]
    assert f"resuming at iteration {last}" in final.stdout
    state = json.loads((model / "state.json").read_text())
    assert state["iteration"] == last + 2
    print(f"kills that interrupted a save (left *.tmp files): {torn} of 4")
