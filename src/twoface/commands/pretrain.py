"""Train a prior: one shared encoder and ONE generic decoder on the faces of many people.

DeepFaceLab's pretrain mode. Every face of every folder (pooled) is rebuilt from its warped
self through the one decoder, with the losses, augmentation and mask loss of `twoface train`,
so the encoder learns faces in general. A prior swaps nobody (`twoface convert` refuses it):
start pairs from it with `twoface train --init-from PRIOR --init-parts all`, which copies the
encoder and starts both decoders as the prior's. The folder is a model folder like any other
(config.json says "kind": "prior"); running the same command again resumes it, Ctrl-C saves.
Each step draws 2 x --batch-size faces from the pool.

examples:
  twoface pretrain faces/g1 faces/g2 faces/g3 -m models/prior --iterations 50000
  twoface pretrain faces/* -m models/prior-hd --arch custom --option input_size=128 --option output_size=128 --minutes 120
  twoface train --faces-a faces/alice --faces-b faces/bob -m models/ab --init-from models/prior --init-parts all
"""
from __future__ import annotations

import argparse
import sys

from ..options import add_options, values_from
from ..train.options import PretrainOptions

GROUPS = ["model", "length", "loss and optimizer", "data and augmentation", "saving and monitoring", "performance",
          "runtime"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", nargs="+", metavar="FACES_DIR",
                   help="face folders (from `twoface extract`) of as many people as you have; all are pooled")
    p.add_argument("-m", "--model", required=True, metavar="PRIOR",
                   help="prior folder to create, or to resume when it already holds a prior")
    groups = add_options(p, PretrainOptions, order=GROUPS, only=["arch"])
    groups["model"].add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                                 help="an architecture option, e.g. --option output_size=128 (repeatable)")
    add_options(p, PretrainOptions, skip=["arch"], groups=groups)


def run(args: argparse.Namespace) -> int:
    from ..train import TrainingInterrupted
    from ..train.options import parse_option
    from ..train.trainer import pretrain

    options = dict(parse_option(text) for text in args.option)
    try:
        summary = pretrain(args.faces, args.model, options=options, **values_from(PretrainOptions, args))
    except TrainingInterrupted as stop:
        print(f"twoface pretrain: stopped by {stop.signal_name} at iteration {stop.summary.get('iteration')}; "
              f"saved to {args.model}", file=sys.stderr)
        return stop.exit_code
    if summary.get("rank", 0) == 0:
        print(f"pretrained to iteration {summary['iteration']}; prior saved to {args.model} "
              f"(start pairs from it with --init-from {args.model} --init-parts all)")
    return 0
