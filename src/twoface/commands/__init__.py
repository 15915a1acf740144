"""One module per CLI verb: ``add_arguments(parser)`` and ``run(args) -> exit code``.

Shared flag groups live here so every verb spells them the same way.
"""
from __future__ import annotations

import argparse


def add_runtime_flags(p: argparse.ArgumentParser) -> None:
    """--device / --precision, for verbs that run torch models."""
    g = p.add_argument_group("runtime")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run (default: auto = CUDA if present, else CPU)")
    g.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="numeric precision (default: auto = AMP on CUDA, bf16 on CPUs with bf16 units, else fp32)")


def parse_int_list(text: str) -> list[int]:
    """'90,180,270' -> [90, 180, 270]; argparse type for lists of angles."""
    try:
        return [int(float(t)) for t in text.replace(" ", "").split(",") if t]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def add_detection_flags(g) -> None:
    """Face-finding flags, spelled the same for extract and for convert's on-the-fly mode."""
    g.add_argument("--detector", default="yunet", help="face detector (default: yunet)")
    g.add_argument("--rotate", type=parse_int_list, default=[], metavar="ANGLES",
                   help="when the upright pass finds no face, retry at these angles, e.g. 90,180,270 (default: none)")
    g.add_argument("--min-size", type=int, default=0, metavar="PX", help="ignore faces smaller than PX pixels (default: 0)")
    g.add_argument("--max-faces", type=int, default=None, help="keep at most this many faces per frame (default: all)")
    g.add_argument("--score-threshold", type=float, default=None,
                   help="detector confidence threshold (default: the detector's)")
