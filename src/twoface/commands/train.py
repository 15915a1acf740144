"""Train a swap model on two face folders made by `twoface extract`.

One shared encoder learns both faces; one decoder per person draws them back. A face of A
decoded by B's decoder becomes B with A's pose and expression. The model folder holds
config.json, weights.safetensors, optimizer.safetensors and state.json (saved atomically),
previews/latest.jpg (columns A, A->A, A->B, B, B->B, B->A), logs/ for TensorBoard and
snapshots/. Running the same command again resumes where the last save left off.
--init-from starts a new model from an earlier model's encoder (or, with --init-parts all,
its decoders too; from a `twoface pretrain` prior, its one decoder starts both).
Ctrl-C finishes the current step, saves and exits.

examples:
  twoface train --faces-a faces/alice --faces-b faces/bob -m models/ab --iterations 20000
  twoface train --faces-a A --faces-b B -m models/ab --arch lightweight --minutes 30
  twoface train --faces-a A --faces-b B -m models/hd --arch custom --option input_size=128 --option output_size=128
  twoface train --faces-a A --faces-b C -m models/ac --init-from models/ab          # A-B's encoder, new decoders
  twoface train --faces-a A --faces-b B -m models/ab2 --init-from models/prior --init-parts all   # from a prior
  torchrun --nproc_per_node 2 -m twoface.cli train --faces-a A --faces-b B -m models/ab --distributed
  tensorboard --logdir models/ab/logs
"""
from __future__ import annotations

import argparse
import sys

from ..options import add_options, values_from
from ..train.options import TrainOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces-a", required=True, metavar="FOLDER", help="face PNGs of person A (from `twoface extract`)")
    p.add_argument("--faces-b", required=True, metavar="FOLDER", help="face PNGs of person B")
    p.add_argument("-m", "--model", required=True, metavar="FOLDER",
                   help="model folder to create, or to resume when it already holds a model")
    groups = add_options(p, TrainOptions, order=["model", "length", "loss and optimizer", "data and augmentation",
                                                 "saving and monitoring", "performance", "runtime"], only=["arch"])
    groups["model"].add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                                 help="an architecture option, e.g. --option output_size=128 "
                                      "(repeatable; see the model's docs)")
    add_options(p, TrainOptions, skip=["arch"], groups=groups)


def run(args: argparse.Namespace) -> int:
    from ..train import TrainingInterrupted, train
    from ..train.options import parse_option

    options = dict(parse_option(text) for text in args.option)
    try:
        summary = train(args.faces_a, args.faces_b, args.model, options=options, **values_from(TrainOptions, args))
    except TrainingInterrupted as stop:
        print(f"twoface train: stopped by {stop.signal_name} at iteration {stop.summary.get('iteration')}; "
              f"saved to {args.model}", file=sys.stderr)
        return stop.exit_code
    if summary.get("rank", 0) == 0:
        print(f"trained to iteration {summary['iteration']}; model saved to {args.model}")
    return 0
