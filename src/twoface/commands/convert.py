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
  twoface convert frames/f%04d.png -m models/ab -o swapped.mp4 --reference-video clip.mp4
  twoface convert plates/shot.####.tif -m models/ab -o out/shot.####.tif     # 16-bit in, 16-bit out
"""
from __future__ import annotations

import argparse
import sys

from . import add_detection_flags, add_runtime_flags
from ..convert.options import X264_PRESETS


def _pct(text: str) -> float:
    try:
        return float(text.rstrip("%"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number (percent), got {text!r}") from err


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..convert.blend import MASK_KINDS
    from ..convert.color import COLOR_MATCHERS
    from ..convert.sharpen import SHARPENERS

    p.add_argument("input", help="a video file, an image, a folder of images, or a numbered sequence "
                                 "(frames/f%%04d.png, shot.####.tif, or a folder of numbered frames)")
    p.add_argument("-m", "--model", required=True, help="the trained model folder (from `twoface train`)")
    p.add_argument("-o", "--output", required=True,
                   help="output: a video file (.mp4/.mov/.mkv), a .gif, an image file, or a folder for images")
    p.add_argument("--store", help="alignments store of INPUT (default: INPUT.twoface.db if it exists, "
                                   "else faces are found on the fly)")
    p.add_argument("--direction", default="a2b", choices=["a2b", "b2a"],
                   help="a2b: faces of person A become B (default); b2a: B becomes A")
    g = p.add_argument_group("mask")
    g.add_argument("--mask", default="extended", choices=MASK_KINDS,
                   help="blend mask: extended (face up to the forehead), components (brows to chin), "
                        "predicted (the model's learned mask), none (the whole crop) (default: extended)")
    g.add_argument("--erode", type=_pct, default=0.0, metavar="PCT",
                   help="shrink the mask by PCT %% of the face crop; negative grows it (default: 0)")
    g.add_argument("--blur", type=_pct, default=5.0, metavar="PCT",
                   help="soften the mask edge with a Gaussian kernel of PCT %% of the crop (default: 5)")
    g.add_argument("--blur-passes", type=int, default=1, metavar="N", help="how many times to blur (default: 1)")
    g = p.add_argument_group("colour and detail")
    g.add_argument("--color", default="match-hist", choices=list(COLOR_MATCHERS),
                   help="match the swapped face's colours to the original: avg (mean shift), match-hist "
                        "(histograms), color-transfer (Reinhard, LAB), seamless (Poisson cloning), none "
                        "(default: match-hist)")
    g.add_argument("--sharpen", default="none", choices=list(SHARPENERS),
                   help="sharpen the swapped face after warping it back (default: none)")
    g.add_argument("--sharpen-amount", type=float, default=1.0, help="strength of sharpening (default: 1.0)")
    g.add_argument("--sharpen-radius", type=float, default=1.0, metavar="PX",
                   help="sharpening radius in output pixels (default: 1.0)")
    g.add_argument("--smooth", action=argparse.BooleanOptionalAction, default=None,
                   help="smooth face positions over time so the swap does not jitter (default: on for video)")
    g = p.add_argument_group("selection")
    g.add_argument("--filter", nargs="+", default=[], metavar="REF",
                   help="swap only faces matching these reference images or face PNGs")
    g.add_argument("--exclude", nargs="+", default=[], metavar="REF", help="never swap faces matching these")
    g.add_argument("--threshold", type=float, default=0.4,
                   help="identity similarity that counts as the same person for --filter/--exclude (default: 0.4)")
    g.add_argument("--frames", metavar="RANGES",
                   help="convert only these frames, e.g. 10-200,300- (others pass through; default: all)")
    g.add_argument("--keep-unchanged", action=argparse.BooleanOptionalAction, default=None,
                   help="write frames without a swapped face as they are (default: on, except for output "
                        "to an image folder); --no-keep-unchanged leaves them out")
    g.add_argument("--skip-unchanged", dest="keep_unchanged", action="store_false", default=None,
                   help="the same as --no-keep-unchanged")
    g = p.add_argument_group("output")
    g.add_argument("--writer", choices=["video", "images", "gif"], default=None,
                   help="output kind (default: from the output's suffix; a name without suffix is a folder)")
    g.add_argument("--image-format", choices=["png", "jpg", "tif", "exr"], default=None,
                   help="for image output (default: the input sequence's format, else png); 16-bit PNG/TIFF "
                        "and float EXR inputs are written back at their depth")
    g.add_argument("--reference-video", metavar="FILE",
                   help="for a numbered frame sequence: the video it was dumped from; a video output takes its "
                        "frame rate, timestamps and audio (copied bit-exact), frames matched by number")
    g.add_argument("--scale", type=float, default=1.0, help="resize output frames by this factor (default: 1.0)")
    g.add_argument("--quality", type=int, default=18, metavar="CRF",
                   help="H.264 quality, lower is better, 0-51 (default: 18)")
    g.add_argument("--preset", default="superfast",
                   choices=X264_PRESETS,
                   help="x264 speed/size trade-off; slower presets make smaller files (default: superfast)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing output")
    g = p.add_argument_group("speed")
    g.add_argument("--batch-size", type=int, default=16, help="faces per model batch (default: 16)")
    g.add_argument("--workers", type=int, default=None,
                   help="face-finding threads when there is no store (default: 2)")
    g = p.add_argument_group("on-the-fly face finding (when INPUT has no store)")
    add_detection_flags(g)
    add_runtime_flags(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..convert import convert

    r = convert(args.input, args.model, args.output, store=args.store, progress=not args.no_progress,
                direction=args.direction, mask=args.mask, erode=args.erode, blur=args.blur,
                blur_passes=args.blur_passes, color=args.color, sharpen=args.sharpen,
                sharpen_amount=args.sharpen_amount, sharpen_radius=args.sharpen_radius, smooth=args.smooth,
                filter=args.filter, exclude=args.exclude, threshold=args.threshold, frames=args.frames,
                keep_unchanged=args.keep_unchanged, writer=args.writer, image_format=args.image_format,
                scale=args.scale, quality=args.quality, preset=args.preset, overwrite=args.overwrite, batch_size=args.batch_size,
                workers=args.workers, detector=args.detector, rotate=args.rotate, min_size=args.min_size,
                max_faces=args.max_faces, score_threshold=args.score_threshold, device=args.device,
                precision=args.precision, reference_video=args.reference_video)
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
