"""Swap the faces of a video, an image or a folder of images with a trained model.

Faces come from INPUT's alignments store (default: INPUT.twoface.db, made by
`twoface extract`); without a store they are found on the fly. Each face is
cropped as the model was trained, run through the model in batches, warped
back, masked, colour-matched, optionally sharpened, and blended. Videos keep
their frame count, timestamps and audio (copied bit-exact). Every output is
labelled synthetic and every frame carries an invisible watermark
(`twoface inspect OUT` shows both). An interrupted run resumes when rerun.

examples:
  twoface convert clip.mp4 -m models/ab -o swapped.mp4
  twoface convert clip.mp4 -m models/ab -o swapped.mp4 --direction b2a --color color-transfer
  twoface convert party.mp4 -m models/ab -o out.mp4 --filter alice.jpg --frames 100-400
  twoface convert photos/ -m models/ab -o swapped/ --writer images --image-format jpg
  twoface convert clip.mp4 -m ab.onnx --engine onnx -o swapped.mp4   # no torch needed (see `twoface export`)
  twoface convert frames/f%04d.png -m models/ab -o swapped.mp4 --reference-video clip.mp4
  twoface convert plates/shot.####.tif -m models/ab -o out/shot.####.tif     # 16-bit in, 16-bit out
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from ..convert.options import ConvertOptions
from ..faces.analyze import FaceOptions
from ..options import add_options, values_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="a video file, an image, a folder of images, or a numbered sequence "
                                 "(frames/f%%04d.png, shot.####.tif, or a folder of numbered frames)")
    p.add_argument("-m", "--model", required=True,
                   help="the trained model folder (from `twoface train`), or with --engine onnx an .onnx file "
                        "from `twoface export`")
    p.add_argument("-o", "--output", required=True,
                   help="output: a video file (.mp4/.mov/.mkv), a .gif, an image file, or a folder for images")
    p.add_argument("--store", help="alignments store of INPUT (default: INPUT.twoface.db if it exists, "
                                   "else faces are found on the fly)")
    groups = add_options(p, ConvertOptions, skip=[f.name for f in fields(FaceOptions)], order=[
        "mask", "colour and detail", "selection", "output", "speed"])
    groups["identity"] = groups["selection"]  # --filter/--exclude/--threshold pick the faces to swap
    groups["selection"].add_argument("--skip-unchanged", dest="keep_unchanged", action="store_false", default=None,
                                     help="the same as --no-keep-unchanged")
    groups = add_options(p, FaceOptions, groups=groups,
                         titles={"detection": "on-the-fly face finding (when INPUT has no store)"})
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..convert import convert

    r = convert(args.input, args.model, args.output, store=args.store, progress=not args.no_progress,
                **values_from(ConvertOptions, args))
    if r.resumed_from > 0:
        print(f"resumed at frame {r.resumed_from}", file=sys.stderr)
    print(f"{r.output}: {r.frames} frames written ({r.converted} with swapped faces, {r.faces} faces; "
          f"faces from {r.faces_from}) in {r.seconds:.1f} s, {r.fps:.1f} frames/s")
    if r.skipped:
        print(f"{r.skipped} frames without a swapped face were left out (--skip-unchanged)")
    if r.converted == 0:
        print("warning: no face was swapped (no faces found, or none matched --filter)", file=sys.stderr)
    print("the output is labelled synthetic and watermarked; share it only with the consent of the people shown")
    return 0
