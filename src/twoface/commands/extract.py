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

from . import add_detection_flags


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="a video file, an image, a folder of images, or a numbered sequence "
                                 "(frames/f%%04d.png, shot.####.tif, or a folder of numbered frames)")
    p.add_argument("--reference-video", metavar="FILE",
                   help="for a numbered frame sequence: the video it was dumped from, so the store records "
                        "that video's frame times and rate (frames matched by number)")
    p.add_argument("-o", "--output", required=True, help="folder for the aligned face PNGs")
    p.add_argument("--store", help="alignments store to write (default: INPUT.twoface.db beside the input)")
    g = p.add_argument_group("detection")
    add_detection_flags(g)
    g.add_argument("--every", type=int, default=1, metavar="N", help="process every Nth frame (default: 1)")
    g = p.add_argument_group("alignment")
    g.add_argument("--size", type=int, default=256, help="side of the aligned face images in pixels (default: 256)")
    g.add_argument("--coverage", type=float, default=None,
                   help="how much of the head the crop shows; larger shows more (default: the aligner's, 0.75 of the template scale)")
    g = p.add_argument_group("identity")
    g.add_argument("--filter", nargs="+", default=[], metavar="REF", help="keep only faces matching these reference images/face PNGs")
    g.add_argument("--exclude", nargs="+", default=[], metavar="REF", help="drop faces matching these reference images/face PNGs")
    g.add_argument("--threshold", type=float, default=0.4, help="cosine similarity that counts as the same person (default: 0.4)")
    g = p.add_argument_group("run")
    g.add_argument("--restart", action="store_true", help="start over instead of resuming an interrupted run")
    g.add_argument("--workers", type=int, default=None, help="analysis threads (default: number of cores, at most 4)")
    g.add_argument("--debug-landmarks", metavar="FOLDER", help="also write frames with landmarks drawn, for checking")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..extract import extract

    result = extract(
        args.input, args.output, store=args.store, restart=args.restart, progress=not args.no_progress,
        size=args.size, coverage=args.coverage, every=args.every, min_size=args.min_size, max_faces=args.max_faces,
        rotate=args.rotate, detector=args.detector, score_threshold=args.score_threshold, filter=args.filter,
        exclude=args.exclude, threshold=args.threshold, debug_landmarks=args.debug_landmarks, workers=args.workers,
        reference_video=args.reference_video)
    if result.resumed_from > 0:
        print(f"resumed at frame {result.resumed_from}", file=sys.stderr)
    print(f"{result.faces} faces from {result.frames} frames -> {result.faces_dir}")
    print(f"store: {result.store} ({result.total_faces} faces in {result.total_frames} frames)")
    if result.total_faces == 0:
        print(f"no faces were found in {args.input}", file=sys.stderr)
    return 0
