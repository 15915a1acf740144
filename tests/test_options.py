"""Options are declared once: every CLI default, choice list and flag comes from the stage's dataclass."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from twoface.cli import build_parser
from twoface.convert.options import ConvertOptions
from twoface.curate import SortOptions
from twoface.evaluate import EvaluateOptions
from twoface.export.options import ExportOptions
from twoface.extract import ExtractOptions
from twoface.options import default_of, flag_of
from twoface.train.options import PretrainOptions, TrainOptions

VERBS = {"extract": ExtractOptions, "convert": ConvertOptions, "train": TrainOptions, "evaluate": EvaluateOptions,
         "sort": SortOptions, "export": ExportOptions, "pretrain": PretrainOptions}


def _subparser(verb: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[verb]


@pytest.mark.parametrize("verb", VERBS)
def test_every_cli_default_equals_its_dataclass_default(verb):
    cls = VERBS[verb]
    actions = {a.dest: a for a in _subparser(verb)._actions}
    checked = 0
    for f in dataclasses.fields(cls):
        spec = flag_of(f)
        if spec is None or not spec.cli:
            continue
        assert f.name in actions, f"{cls.__name__}.{f.name} has no --flag on `twoface {verb}`"
        action = actions[f.name]
        assert action.default == default_of(f), f"--{f.name}: CLI default {action.default!r} != {default_of(f)!r}"
        if spec.choices is not None:
            assert list(action.choices) == list(spec.choices)
        checked += 1
    # pretrain: train's fields less --init-from, --init-parts, --identity-weight, --identity-start, --true-face and the
    # identity signal (--no-quality)
    assert checked == {"extract": 14, "convert": 32, "train": 49, "evaluate": 5, "sort": 8, "export": 9,
                       "pretrain": 43}[verb]


@pytest.mark.parametrize("verb", VERBS)
def test_parsing_no_flags_builds_the_default_options(verb, tmp_path):
    """What `run` passes on (values_from over the fields) makes exactly the dataclass's defaults."""
    from twoface.options import values_from

    required = {"extract": ["in.mp4", "-o", "out"], "convert": ["in.mp4", "-m", "m", "-o", "o.mp4"],
                "train": ["--faces-a", str(tmp_path / "a"), "--faces-b", str(tmp_path / "b"), "-m", "m"],
                "evaluate": ["-m", "m", "--faces-a", "a", "--faces-b", "b"], "sort": ["faces"],
                "export": ["m", "-o", "m.onnx"], "pretrain": [str(tmp_path / "a"), str(tmp_path / "b"), "-m", "m"]}[verb]
    args = build_parser().parse_args([verb, *required])
    cls = VERBS[verb]
    given = values_from(cls, args)
    if verb == "train":
        opts = cls(faces_a=args.faces_a, faces_b=args.faces_b, model_dir=args.model, **given)
        plain = cls(faces_a=args.faces_a, faces_b=args.faces_b, model_dir=args.model)
    elif verb == "pretrain":
        opts = cls(model_dir=args.model, faces=args.faces, **given)
        plain = cls(model_dir=args.model, faces=args.faces)
    else:
        opts, plain = cls(**given), cls()
    assert opts == plain


def test_flags_parse_to_the_fields():
    args = build_parser().parse_args(["convert", "in.mp4", "-m", "m", "-o", "o.mp4", "--erode", "3%", "--no-smooth",
                                      "--rotate", "90,270", "--filter", "a.png", "b.png", "--preset", "medium",
                                      "--skip-unchanged", "--device", "cpu"])
    from twoface.options import values_from

    opts = ConvertOptions(**values_from(ConvertOptions, args))
    assert (opts.erode, opts.smooth, opts.rotate, opts.filter, opts.preset, opts.keep_unchanged, opts.device) == (
        3.0, False, [90, 270], ["a.png", "b.png"], "medium", False, "cpu")
    t = build_parser().parse_args(["train", "--faces-a", "a", "--faces-b", "b", "-m", "m", "--no-warp", "--timelapse",
                                   "--no-resume"])
    assert (t.warp, t.timelapse, t.resume, t.flip) == (False, "4", False, True)


def test_only_the_flags_typed_are_passed_on_so_a_preset_cannot_override_them(tmp_path):
    """`--preset cpu --batch-size 16` trains at 16 though 16 is the default (the preset's is 8)."""
    from twoface.options import values_from

    args = build_parser().parse_args(["train", "--faces-a", str(tmp_path / "a"), "--faces-b", str(tmp_path / "b"),
                                      "-m", "m", "--preset", "cpu", "--batch-size", "16", "--minutes", "5",
                                      "--no-resume"])
    given = values_from(TrainOptions, args)
    assert given == {"preset": "cpu", "batch_size": 16, "minutes": 5.0, "resume": False}
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    opts = TrainOptions(faces_a=args.faces_a, faces_b=args.faces_b, model_dir=args.model,
                        explicit=frozenset(given), **given)  # what train() builds from its keywords
    assert (opts.batch_size, opts.lr, opts.lr_schedule, opts.warp_stop) == (16, 5e-4, "cosine", 0.3)
    # a record made without `explicit` (the web form posts only non-default values) keeps the old rule
    assert TrainOptions(faces_a=args.faces_a, faces_b=args.faces_b, model_dir=args.model, **given).batch_size == 8
    # a namespace made by hand (no record of what was typed) passes every field
    assert values_from(ConvertOptions, argparse.Namespace(erode=3.0))["erode"] == 3.0


def test_one_x264_preset_default():
    import inspect

    from twoface.media.segmented import SegmentedVideoWriter
    from twoface.media.writer import VideoWriter
    from twoface.media.x264 import DEFAULT_PRESET

    assert ConvertOptions().preset == DEFAULT_PRESET == "superfast"
    for cls in (VideoWriter, SegmentedVideoWriter):
        assert inspect.signature(cls.__init__).parameters["preset"].default == DEFAULT_PRESET
