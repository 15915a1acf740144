"""The small parts of the training loop: preview grid, console line, options, model choice on resume."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from twoface.errors import ModelError, TwofaceError
from twoface.train import preview
from twoface.train.logs import TrainLog, format_duration
from twoface.train.options import PretrainOptions, TrainOptions, parse_option
from twoface.train.session import model_choice


def opts(tmp_path, **kw) -> TrainOptions:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    return TrainOptions(tmp_path / "a", tmp_path / "b", tmp_path / "m", **kw)


def test_grid_places_each_face_under_its_label():
    size = 32
    cols = [[np.full((size, size, 3), 10 * c + r, np.uint8) for r in range(3)] for c in range(6)]
    img = preview.grid(cols, preview.COLUMNS, size)
    assert img.shape == (preview.HEADER + 3 * size, 6 * size, 3)
    for c in range(6):
        for r in range(3):
            tile = img[preview.HEADER + r * size:preview.HEADER + (r + 1) * size, c * size:(c + 1) * size]
            assert (tile == 10 * c + r).all()
    assert img[:preview.HEADER].max() > 200  # the labels are drawn


def test_to_bgr_swaps_channels_and_resizes():
    x = torch.zeros(1, 4, 8, 8)
    x[:, 0] = 1.0  # pure red in RGB, plus a mask channel that must be ignored
    out = preview.to_bgr(x, 16)[0]
    assert out.shape == (16, 16, 3) and out[..., 2].min() == 255 and out[..., :2].max() == 0


def test_console_line_has_iteration_losses_speed_and_eta():
    stream = io.StringIO()
    log = TrainLog(None, 0, iterations=100, deadline=None, faces_per_step=32, stream=stream, tensorboard=False)
    for _ in range(4):
        log.speed.add(0.5)
        log.add_losses({"a": 0.5, "b": 0.25, "a/ssim": 0.4})
    log.console(4, log.means(), log.speed.window())
    line = stream.getvalue().strip()
    assert "it       4" in line and "loss A 0.5000 B 0.2500" in line
    assert "64.0 faces/s" in line and "ETA 0:00:48" in line  # 96 steps left at 0.5 s
    assert "\n" not in line
    assert format_duration(3725) == "1:02:05"


@pytest.mark.parametrize("field,value,flag", [("batch_size", 0, "--batch-size"), ("holdout", 0.7, "--holdout"),
                                              ("clip", "sometimes", "--clip"), ("save_every", 0, "--save-every"),
                                              ("lr", -1.0, "--lr"), ("minutes", float("nan"), "--minutes")])
def test_bad_options_name_the_flag(tmp_path, field, value, flag):
    with pytest.raises(TwofaceError, match=flag):
        opts(tmp_path, **{field: value})


def test_same_folder_for_both_sides_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(TwofaceError, match="same folder"):
        TrainOptions(tmp_path / "a", tmp_path / "a", tmp_path / "m")


def test_parse_option_reads_json_values():
    assert parse_option("input_size=128") == ("input_size", 128)
    assert parse_option("learn-mask=true") == ("learn_mask", True)
    assert parse_option("upscaler=resize") == ("upscaler", "resize")
    with pytest.raises(TwofaceError, match="key=value"):
        parse_option("nonsense")


def test_model_choice_on_resume(tmp_path):
    config = {"arch": "custom", "options": {"input_size": 64, "learn_mask": False}}
    o = opts(tmp_path)
    assert model_choice(o, None) == ("original", {})
    assert model_choice(o, config) == ("custom", config["options"])
    with pytest.raises(ModelError, match="'custom'.*'lightweight'"):
        model_choice(opts(tmp_path, arch="lightweight"), config)
    with pytest.raises(ModelError, match="input_size=64.*input_size=128"):
        model_choice(opts(tmp_path, options={"input_size": 128}), config)
    with pytest.raises(ModelError, match="learn_mask"):
        model_choice(opts(tmp_path, learn_mask=True), config)
    assert json.dumps(o.to_json())  # the options are JSON-able (they go to config.json)


def test_cpu_preset_fills_only_what_was_left_at_its_default(tmp_path):
    from twoface.train.session import model_choice

    o = opts(tmp_path, preset="cpu", minutes=10)
    assert (o.lr, o.warmup, o.lr_schedule, o.balance, o.warp_stop, o.batch_size, o.true_face) == \
        (5e-4, 20, "cosine", "expression", 0.3, 8, 0.1)
    assert opts(tmp_path, preset="cpu", minutes=10, batch_size=4).batch_size == 4  # a flag of one's own wins
    # --true-face 0 switches it off: a value given (train()'s keywords, the flags typed) wins even at the default
    off = opts(tmp_path, preset="cpu", minutes=10, true_face=0.0, explicit=frozenset({"preset", "minutes", "true_face"}))
    assert (off.true_face, off.batch_size) == (0, 8)
    # a prior takes the preset's rate and schedule but not its code discriminator: one pool, nobody to tell apart
    prior = PretrainOptions(faces=[tmp_path / "x"], model_dir=tmp_path / "p", preset="cpu", minutes=10)
    assert (prior.lr, prior.true_face) == (5e-4, 0.0)
    prior.check_faces()
    assert model_choice(o, None)[0] == "lightweight"          # a new model takes the preset's arch
    mine = opts(tmp_path, preset="cpu", minutes=10, lr=1e-4, arch="original")
    assert (mine.lr, mine.lr_schedule) == (1e-4, "cosine") and model_choice(mine, None)[0] == "original"
    endless = opts(tmp_path, preset="cpu")                      # no budget: nothing to decay over
    assert endless.lr_schedule == "constant" and endless.lr == 5e-4 and endless.warp_stop == 0
    assert opts(tmp_path, preset="cpu", minutes=10, warp=False).warp_stop == 0  # --no-warp: nothing to stop
    with pytest.raises(TwofaceError, match="cosine decays over the budget"):
        opts(tmp_path, lr_schedule="cosine")
    with pytest.raises(TwofaceError, match="--preset"):
        opts(tmp_path, preset="gpu")
