"""The data-loss cases of issue 9: nothing a user made is ever replaced or lost without a flag."""
from __future__ import annotations

import json
import shutil

import pytest
import torch
from reliab_helpers import assert_refused, run_cli, tree_hashes

from twoface.train import checkpoint as ck
from twoface.train.signals import StoppedAtOnce


def _train_args(small_faces, model, *more):
    from test_bad_stores_models import _train_args as base

    return [*base(small_faces, model), *more]


def test_train_refuses_a_model_without_state(model_copy, small_faces, capfd):
    (model_copy / "state.json").unlink()  # config.json and weights: a trained model, nothing to resume from
    before = tree_hashes(model_copy)
    line = assert_refused(run_cli(capfd, *_train_args(small_faces, model_copy)), model_copy, "no state.json",
                          "--no-resume", "convert")
    assert "copy the folder" in line
    assert tree_hashes(model_copy) == before
    # the explicit flag starts over (and says so by working)
    code, _out, err = run_cli(capfd, *_train_args(small_faces, model_copy, "--no-resume", "--iterations", "1"))
    assert code == 0, err
    assert ck.find_checkpoint(model_copy).iteration == 1


def test_a_killed_first_save_is_not_a_model(small_faces, tmp_path, capfd):
    """A first save renames config.json in last, so its debris is never mistaken for a model to protect."""
    model = tmp_path / "m"
    model.mkdir()
    weights = {"w": torch.zeros(3)}
    ck.save_checkpoint(model, {"format": ck.FORMAT, "arch": "custom"}, weights, {}, {}, {"iteration": 1}, None)
    (model / "config.json").unlink()  # as if killed between the renames of state.json and config.json
    assert ck.read_config(model) is None
    code, _out, err = run_cli(capfd, *_train_args(small_faces, model, "--iterations", "1"))
    assert code == 0, err
    assert ck.find_checkpoint(model).iteration == 1


class _Interrupting(dict):
    """Tensors whose serialisation is interrupted part-way, as a second Ctrl-C would."""

    def items(self):
        yield from list(super().items())[:1]
        raise KeyboardInterrupt


def test_interrupted_save_leaves_no_temp_files_and_says_what_is_saved(model_copy):
    good = ck.find_checkpoint(model_copy)
    before = tree_hashes(model_copy)
    tensors, _ = good.tensors(ck.WEIGHTS)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(model_copy, good.config, _Interrupting(tensors), {}, {}, {"iteration": 9}, good)
    assert not [p.name for p in model_copy.iterdir() if p.name.endswith(".tmp")]
    assert tree_hashes(model_copy) == before
    said = StoppedAtOnce(model_copy, 9).message
    assert said == (f"stopped at once at iteration 9; the model folder holds the last complete save, iteration "
                    f"{good.iteration} (iterations after it, up to 9, are lost)")
    assert "nothing is saved yet" in StoppedAtOnce(model_copy.parent / "nothing-here", 4).message


def test_evaluate_never_overwrites(model_copy, small_faces, tmp_path, capfd):
    args = ["evaluate", "-m", model_copy, "--faces-a", small_faces["a"], "--faces-b", small_faces["b"], "--quiet"]
    victims = [model_copy / "config.json", sorted(small_faces["a"].glob("*.png"))[0]]
    face_copy = tmp_path / victims[1].name
    shutil.copy(victims[1], face_copy)
    for victim in (model_copy / "config.json", face_copy):
        before = tree_hashes(victim)
        for flags in ([], ["--overwrite"]):
            assert_refused(run_cli(capfd, *args, "-o", victim, *flags), victim, "not a twoface report")
        assert tree_hashes(victim) == before
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"format": "twoface-report", "swap": {}}))
    before = tree_hashes(report)
    assert_refused(run_cli(capfd, *args, "-o", report), report, "--overwrite")
    assert tree_hashes(report) == before
    # an output that cannot be written is found before any evaluation (/proc takes no new files, even as root)
    assert_refused(run_cli(capfd, *args, "-o", "/proc/twoface-report.json"), "/proc", "cannot write")
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    assert_refused(run_cli(capfd, *args, "-o", blocked / "report.json"), blocked, "a file is in the way")


def test_extract_into_its_own_image_folder_is_refused(data_dir, tmp_path, capfd):
    images = tmp_path / "photos"
    images.mkdir()
    shutil.copy(data_dir / "convert/two_people_obama_biden.jpg", images / "a.jpg")
    before = tree_hashes(images)
    for out in (images, images / "faces", tmp_path / "photos" / "." / "x" / ".."):
        assert_refused(run_cli(capfd, "extract", images, "-o", out, "--no-progress"), "must not be the input")
    assert tree_hashes(images) == before and sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_extract_into_an_empty_folder_after_a_complete_run_writes_the_faces_again(small_faces, tmp_path, capfd):
    store = tmp_path / "clip.db"
    shutil.copy(small_faces["a_store"], store)
    store_before = tree_hashes(store)
    out = tmp_path / "moved-faces"
    code, _out, err = run_cli(capfd, "extract", small_faces["a_clip"], "-o", out, "--store", store,
                              "--every", "3", "--size", "64", "--no-progress")
    assert code == 0, err
    assert "wrote the store's 25 faces into it again" in err
    original = {p.name: p.read_bytes() for p in small_faces["a"].glob("*.png")}
    again = {p.name: p.read_bytes() for p in out.glob("*.png")}
    assert again == original  # the same names and the same bytes (metadata included)
    assert tree_hashes(store) == store_before  # the store is not rewritten
    # a folder that still holds faces (curated: one deleted) is left as the user made it
    next(iter(sorted(out.glob("*.png")))).unlink()
    code, _out, err = run_cli(capfd, "extract", small_faces["a_clip"], "-o", out, "--store", store,
                              "--every", "3", "--size", "64", "--no-progress")
    assert code == 0 and len(list(out.glob("*.png"))) == 24 and "again" not in err
