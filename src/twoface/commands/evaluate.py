"""Measure a swap model (and optionally a video it converted) with models it never trained with.

Held-out faces of A are rendered as B and of B as A. The independent judge
(dlib's ResNet face descriptor, never the SFace model used in training) says
who each swap looks like: ID retrieval is the share whose nearest identity in
the gallery (A, B and any --gallery folders) is the target. The Face
Landmarker measures how well pose and expression were kept, and A->A / B->B
reconstructions give SSIM, PSNR and a sharpness ratio to read beside the
swaps' own. With --video and --source, the swapped video is compared with its
source frame by frame (jitter, pose, expression, identity), and the expression error gets a floor: how near the target's own
faces come to the source's expressions (no swap drawn from them does better;
a high floor asks for more varied footage of the target, not more training).
Writes report.json and prints a summary.

examples:
  twoface evaluate -m models/ab --faces-a faces/alice --faces-b faces/bob
  twoface evaluate -m models/ab --faces-a faces/alice --faces-b faces/bob \\
      --video swapped.mp4 --source clip.mp4 --gallery faces/others -o report.json
"""
from __future__ import annotations

import argparse

from ..evaluate import EvaluateOptions
from ..options import add_options, values_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", required=True, help="the trained model folder")
    p.add_argument("--faces-a", required=True, help="face folder of person A (as used for training)")
    p.add_argument("--faces-b", required=True, help="face folder of person B (as used for training)")
    p.add_argument("--video", help="a video converted with this model (needs --source)")
    p.add_argument("--source", help="the video --video was converted from")
    p.add_argument("--gallery", nargs="+", default=[], metavar="DIR",
                   help="more identities for the retrieval gallery: folders of face PNGs or photos, one person each")
    p.add_argument("-o", "--output", default="report.json", help="where to write the report (default: report.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing report (never any other file)")
    add_options(p, EvaluateOptions)
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate, summary

    report = evaluate(args.model, args.faces_a, args.faces_b, video=args.video, source=args.source,
                      gallery=args.gallery, output=args.output, progress=not args.quiet,
                      overwrite=args.overwrite, **values_from(EvaluateOptions, args))
    print(summary(report))
    print(f"report: {args.output}")
    return 0
