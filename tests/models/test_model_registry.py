"""The registry and options: what the trainer saves to config.json must rebuild the same network.

Models here are built on the meta device: shapes and names without memory or init time.
"""
from __future__ import annotations

import json

import pytest
import torch

from twoface.errors import ModelError, TwofaceError
from twoface.models import ARCHS, SwapModel, build, default_options, option_help

EXPECTED_ARCHS = ["original", "lightweight", "iae", "dfaker", "villain", "realface", "dlight", "custom", "cpu"]

PREFIXES = {"iae": ("encoder.", "inter_a.", "inter_b.", "inter_both.", "decoder.")}
TWO_DECODERS = ("encoder.", "decoder_a.", "decoder_b.")


def meta(arch: str, **options) -> SwapModel:
    with torch.device("meta"):
        return build(arch, **options)


def shapes(model: torch.nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_registry_names():
    assert list(ARCHS) == EXPECTED_ARCHS
    for name, cls in ARCHS.items():
        assert cls.arch == name and issubclass(cls, SwapModel) and cls.summary


@pytest.mark.parametrize("arch", EXPECTED_ARCHS)
def test_defaults_round_trip_through_json(arch):
    defaults = default_options(arch)
    assert defaults["learn_mask"] is False
    assert set(option_help(arch)) == set(defaults)
    model = meta(arch)
    assert model.arch == arch
    assert set(model.options) == set(defaults)
    saved = json.loads(json.dumps(model.options))   # what config.json holds
    assert None not in saved.values()               # "auto" options are resolved
    again = meta(arch, **saved)
    assert again.options == model.options
    assert shapes(again) == shapes(model)


@pytest.mark.parametrize("arch", EXPECTED_ARCHS)
def test_state_dict_keys_are_prefixed_by_part(arch):
    model = meta(arch, learn_mask=True)
    prefixes = PREFIXES.get(arch, TWO_DECODERS)
    keys = list(model.state_dict())
    assert keys and all(k.startswith(prefixes) for k in keys)
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in keys), prefix
    assert set(model.parts) == {p.rstrip(".") for p in prefixes}


def test_non_default_options_round_trip():
    model = meta("custom", input_size=256, output_size=512, bottleneck="conv", upscaler="resizeconv",
                 encoder_depth=4, learn_mask=True)
    again = meta("custom", **json.loads(json.dumps(model.options)))
    assert again.options == model.options and shapes(again) == shapes(model)
    assert model.options["encoder_depth"] == 4
    assert meta("custom", input_size=256).options["encoder_depth"] == 6   # auto: down to 4×4


def test_options_from_the_command_line_are_converted():
    model = meta("custom", input_size="256", learn_mask="true", bottleneck="CONV")
    assert model.options["input_size"] == 256 and model.options["learn_mask"] is True
    assert model.options["bottleneck"] == "conv"
    assert meta("original", learn_mask="no").learn_mask is False


def test_unknown_arch_lists_the_valid_names():
    with pytest.raises(ModelError) as err:
        build("orignal")
    msg = str(err.value)
    assert "'orignal'" in msg and all(name in msg for name in EXPECTED_ARCHS)
    with pytest.raises(ModelError):
        default_options("nope")


def test_unknown_option_lists_the_valid_options():
    with pytest.raises(ModelError) as err:
        build("dfaker", output=128)
    msg = str(err.value)
    assert "'output'" in msg and "output_size" in msg and "learn_mask" in msg


@pytest.mark.parametrize("arch,options,words", [
    ("original", {"learn_mask": "maybe"}, ["learn_mask", "true or false"]),
    ("original", {"lowmem": 1}, ["lowmem"]),
    ("dfaker", {"output_size": 192}, ["output_size=192", "128, 256"]),
    ("realface", {"input_size": 72}, ["input_size=72", "divisible by 16"]),
    ("realface", {"output_size": 512}, ["output_size=512", "from 64 to 256"]),
    ("dlight", {"features": "ultra"}, ["features", "lowmem, fair, best"]),
    ("custom", {"input_size": 96}, ["input_size=96", "power of two"]),
    ("custom", {"output_size": 1024}, ["output_size=1024", "from 64 to 512"]),
    ("custom", {"encoder_width": "wide"}, ["encoder_width"]),
    ("custom", {"input_size": 64, "encoder_depth": 7}, ["encoder_depth=7", "at most 6"]),
    ("custom", {"input_size": 512, "encoder_depth": 2}, ["Dense", "bottleneck=conv"]),
    ("cpu", {"size": 96}, ["size=96", "64, 128"]),
    ("cpu", {"bottleneck": "dense"}, ["bottleneck", "conv4, dense4, conv8"]),
])
def test_invalid_values_say_what_is_wrong(arch, options, words):
    with pytest.raises(ModelError) as err:
        build(arch, **options)
    assert isinstance(err.value, TwofaceError)
    msg = str(err.value)
    assert msg.startswith(arch)
    for word in words:
        assert word in msg, (word, msg)


def test_a_shallow_encoder_is_affordable_with_the_conv_bottleneck():
    model = meta("custom", input_size=512, encoder_depth=2, bottleneck="conv")
    assert model.options["encoder_depth"] == 2
    assert sum(p.numel() for p in model.parameters()) < 60_000_000


def test_side_must_be_a_or_b():
    model = meta("lightweight")
    with pytest.raises(ValueError, match="'a' or 'b'"):
        model(torch.empty(1, 3, 64, 64, device="meta"), "c")
