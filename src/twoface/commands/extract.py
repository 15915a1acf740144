"""Find, align and save the faces of a video, an image or a folder of images.

Writes one aligned PNG per face (its metadata inside) to OUTPUT and fills the
alignments store (default: INPUT.twoface.db). Rerunning the same command after
an interruption continues from the last committed frame.

examples:
  twoface extract interview.mp4 -o faces/interview
  twoface extract clip.mp4 -o faces/clip --every 2 --min-size 64 --rotate 90,270
  twoface extract party.mp4 -o faces/alice --filter alice.jpg --threshold 0.45
  twoface extract frames/f%04d.png -o faces/clip --reference-video clip.mp4
"""
from __future__ import annotations

import argparse
import sys

from ..extract import ExtractOptions
from ..options import add_options, values_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="a video file, an image, a folder of images, or a numbered sequence "
                                 "(frames/f%%04d.png, shot.####.tif, or a folder of numbered frames)")
    p.add_argument("-o", "--output", required=True, help="folder for the aligned face PNGs")
    p.add_argument("--store", help="alignments store to write (default: INPUT.twoface.db beside the input)")
    groups = add_options(p, ExtractOptions)
    groups["run"].add_argument("--restart", action="store_true",
                               help="start over instead of resuming an interrupted run")
    groups["run"].add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..extract import extract

    result = extract(args.input, args.output, store=args.store, restart=args.restart, progress=not args.no_progress,
                     **values_from(ExtractOptions, args))
    if result.resumed_from > 0:
        print(f"resumed at frame {result.resumed_from}", file=sys.stderr)
    if result.rewritten:
        print(f"{result.faces_dir} held no faces: wrote the store's {result.rewritten} faces into it again",
              file=sys.stderr)
    if result.skipped:
        print(f"{result.skipped} frame(s) could not be decoded and were skipped (each named above)", file=sys.stderr)
    print(f"{result.faces} faces from {result.frames} frames -> {result.faces_dir}")
    print(f"store: {result.store} ({result.total_faces} faces in {result.total_frames} frames)")
    if result.total_faces == 0:
        print(f"no faces were found in {args.input}", file=sys.stderr)
    return 0
