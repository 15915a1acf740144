"""The `cpu` architecture: cheaper than `lightweight` by count, and usable end to end (train, resume, convert).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on the meta device (a
deterministic count of the forward: one face through the encoder and one decoder), so the
budget the architecture was chosen for is a fixed property, not a timing.
"""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from twoface.models import build


def forward_flops(arch: str, **options) -> int:
    with torch.device("meta"):
        model = build(arch, **options)
    x = torch.empty(1, 3, model.input_size, model.input_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        model(x, "a")
    return counter.get_total_flops()


def test_cpu_costs_less_than_half_of_lightweight():
    lightweight = forward_flops("lightweight")
    assert 6.0e9 < lightweight < 7.0e9            # the yardstick is what we think it is (6.57 GFLOP)
    assert forward_flops("cpu") < 0.5 * lightweight  # 2.42 GFLOP (dense4, the default)
    for options in ({"bottleneck": "conv4"}, {"bottleneck": "conv8"}, {"decoder_residual": True}):
        assert forward_flops("cpu", **options) < 0.5 * lightweight, options
    # at 128 px (four times the pixels) it still costs less than lightweight at 64
    assert forward_flops("cpu", size=128) < lightweight


def test_cpu_decoders_start_as_wide_as_originals():
    """The saving is not taken from the decoders' top: 512 channels in at 8×8, 256 out at 16×16, like original."""
    with torch.device("meta"):
        cpu, original = build("cpu"), build("original")
        z = cpu.encode(torch.empty(1, 3, 64, 64))
        zo = original.encode(torch.empty(1, 3, 64, 64))
        assert z.shape == zo.shape == (1, 512, 8, 8)
        assert cpu.decoder_a.up[0](z).shape == original.decoder_a.up[0](zo).shape == (1, 256, 16, 16)


def test_train_resume_and_convert_from_the_command_line(tmp_path, faces_a, faces_b, data_dir, capsys):
    """`twoface train --arch cpu --option size=128 --learn-mask`, resumed without --arch, then `twoface convert`."""
    import cv2

    from twoface.cli import main
    from twoface.media.label import read_label
    from twoface.models.folder import load_model

    model = tmp_path / "model"
    common = ["--faces-a", str(faces_a), "--faces-b", str(faces_b), "-m", str(model), "--batch-size", "4",
              "--no-quality", "--no-tensorboard", "--seed", "3", "--log-every", "1"]
    assert main(["train", *common, "--arch", "cpu", "--option", "size=128", "--learn-mask", "--iterations", "2"]) == 0
    config = json.loads((model / "config.json").read_text())
    assert config["arch"] == "cpu" and config["options"] == {"size": 128, "bottleneck": "dense4",
                                                             "decoder_residual": False, "learn_mask": True}
    assert main(["train", *common, "--iterations", "3"]) == 0   # resumes: the arch comes from config.json
    net, saved = load_model(model)
    assert saved["arch"] == "cpu" and json.loads((model / "state.json").read_text())["iteration"] == 3
    with torch.no_grad():
        y = net(torch.rand(1, 3, 128, 128), "a")
    assert y.shape == (1, 4, 128, 128) and torch.isfinite(y).all()
    capsys.readouterr()

    photo = data_dir / "convert/two_people_obama_biden.jpg"
    out = tmp_path / "swapped.png"
    assert main(["convert", str(photo), "-m", str(model), "-o", str(out), "--no-progress"]) == 0
    assert "2 faces" in capsys.readouterr().out
    img, src = cv2.imread(str(out)), cv2.imread(str(photo))
    assert img.shape == src.shape and read_label(out) is not None
    assert (img.astype(int) - src).std() > 1   # the faces were replaced


def test_a_model_saved_with_the_old_default_bottleneck_still_builds_as_saved(tmp_path):
    """conv4 was the default before dense4: config.json records every option, so the default moving changes
    nothing for models already trained."""
    from twoface.models.folder import build_from_config

    old = build_from_config({"arch": "cpu", "options": {"size": 64, "bottleneck": "conv4", "decoder_residual": False,
                                                        "learn_mask": False}}, tmp_path)
    new = build("cpu")
    assert isinstance(old.encoder.bottleneck, torch.nn.Conv2d)
    assert not isinstance(new.encoder.bottleneck, torch.nn.Conv2d) and new.options["bottleneck"] == "dense4"
    assert sum(p.numel() for p in new.parameters()) > sum(p.numel() for p in old.parameters())


@pytest.mark.parametrize("size", [64, 128])
def test_cpu_output_matches_its_input_size_with_and_without_mask(size):
    torch.manual_seed(0)
    for learn_mask in (False, True):
        model = build("cpu", size=size, learn_mask=learn_mask).eval()
        with torch.no_grad():
            y = model(torch.rand(2, 3, size, size), "b")
        assert y.shape == (2, 4 if learn_mask else 3, size, size)
        assert 0 <= float(y.min()) and float(y.max()) <= 1
