"""Train a swap model on two face folders made by `twoface extract`.

One shared encoder learns both faces; one decoder per person draws them back. A face of A
decoded by B's decoder becomes B with A's pose and expression. The model folder holds
config.json, weights.safetensors, optimizer.safetensors and state.json (saved atomically),
previews/latest.jpg (columns A, A->A, A->B, B, B->B, B->A), logs/ for TensorBoard and
snapshots/. Running the same command again resumes where the last save left off.
Ctrl-C finishes the current step, saves and exits.

examples:
  twoface train --faces-a faces/alice --faces-b faces/bob -m models/ab --iterations 20000
  twoface train --faces-a A --faces-b B -m models/ab --arch lightweight --minutes 30
  twoface train --faces-a A --faces-b B -m models/hd --arch custom --option input_size=128 --option output_size=128
  torchrun --nproc_per_node 2 -m twoface.cli train --faces-a A --faces-b B -m models/ab --distributed
  tensorboard --logdir models/ab/logs
"""
from __future__ import annotations

import argparse
import sys

from . import add_runtime_flags


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces-a", required=True, metavar="FOLDER", help="face PNGs of person A (from `twoface extract`)")
    p.add_argument("--faces-b", required=True, metavar="FOLDER", help="face PNGs of person B")
    p.add_argument("-m", "--model", required=True, metavar="FOLDER",
                   help="model folder to create, or to resume when it already holds a model")

    g = p.add_argument_group("model")
    g.add_argument("--arch", default=None,
                   help="architecture: original, lightweight, iae, dfaker, villain, realface, dlight, custom "
                        "(default: original, or the model folder's when resuming)")
    g.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an architecture option, e.g. --option output_size=128 (repeatable; see the model's docs)")
    g.add_argument("--learn-mask", action="store_true", help="the model also learns a face mask channel (default: off)")
    g.add_argument("--gan", action="store_true", help="add an adversarial loss from a patch discriminator per side (default: off)")
    g.add_argument("--gan-weight", type=float, default=0.1, help="weight of the adversarial loss (default: 0.1)")

    g = p.add_argument_group("length")
    g.add_argument("--iterations", type=_positive_int, default=None, metavar="N",
                   help="stop after N iterations in all (counting earlier runs of this model)")
    g.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="stop after M minutes of this run (default: run until Ctrl-C when neither is given)")
    g.add_argument("--batch-size", type=_positive_int, default=16, help="faces of each person per step (default: 16)")

    g = p.add_argument_group("loss and optimizer")
    g.add_argument("--loss", default="ssim:1,mse:1",
                   help="weighted losses: ssim, ms_ssim, mae, mse, gmsd, lpl, ffl (default: ssim:1,mse:1)")
    g.add_argument("--mask-loss", action="store_true",
                   help="weight the loss by the face mask, so the background matters less (default: off)")
    g.add_argument("--mask-penalty", type=float, default=0.1,
                   help="with --mask-loss, the weight of pixels outside the mask (default: 0.1)")
    g.add_argument("--eye-multiplier", type=float, default=3.0, help="loss weight of the eye regions (default: 3)")
    g.add_argument("--mouth-multiplier", type=float, default=2.0, help="loss weight of the mouth region (default: 2)")
    g.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "adabelief", "lion"],
                   help="optimizer (default: adam)")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's; adam 5e-5)")
    g.add_argument("--warmup", type=int, default=0, metavar="N", help="ramp the learning rate up over N iterations (default: 0)")
    g.add_argument("--clip", default="none", choices=["none", "norm", "autoclip"],
                   help="gradient clipping: by norm, by AutoClip percentile, or none (default: none)")
    g.add_argument("--clip-value", type=float, default=None,
                   help="the norm for --clip norm (default 1.0) or the percentile for autoclip (default 10)")
    g.add_argument("--seed", type=int, default=None, help="random seed, for repeatable runs (default: random, saved in state.json)")

    g = p.add_argument_group("data and augmentation")
    g.add_argument("--holdout", type=float, default=0.05, help="share of each face set kept out for validation (default: 0.05)")
    g.add_argument("--no-warp", dest="warp", action="store_false", help="no random warp of the inputs")
    g.add_argument("--warp-to-landmarks", action="store_true",
                   help="warp towards the landmarks of similar faces of the other person instead of random noise")
    g.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flips")
    g.add_argument("--no-augment-color", dest="augment_color", action="store_false", help="no random colour/lightness shifts")

    g = p.add_argument_group("saving and monitoring")
    g.add_argument("--save-every", type=_positive_int, default=250, metavar="N", help="save every N iterations (default: 250)")
    g.add_argument("--snapshot-every", type=int, default=0, metavar="N",
                   help="keep a copy of the model in snapshots/<iteration>/ every N iterations (default: 0 = never)")
    g.add_argument("--preview-every", type=_positive_int, default=250, metavar="N",
                   help="write previews/latest.jpg every N iterations (default: 250)")
    g.add_argument("--timelapse", nargs="?", const="4", default=None, metavar="FOLDER_OR_COUNT",
                   help="also write timelapse/<iteration>.jpg at each preview: of COUNT held-out faces per person "
                        "(default 4 when given without a value), or of the face PNGs in FOLDER shown as A and as B")
    g.add_argument("--eval-every", type=_positive_int, default=250, metavar="N",
                   help="validation loss and identity similarity of held-out swaps every N iterations (default: 250)")
    g.add_argument("--no-quality", dest="quality", action="store_false",
                   help="skip the SFace identity similarity at --eval-every (validation loss only)")
    g.add_argument("--log-every", type=_positive_int, default=50, metavar="N", help="a console line every N iterations (default: 50)")
    g.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="do not write TensorBoard logs")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue the model in the folder (default); --no-resume starts over and replaces it at the first save")

    g = p.add_argument_group("performance")
    g.add_argument("--compile", action="store_true", help="torch.compile the model (falls back to eager with a warning)")
    g.add_argument("--distributed", action="store_true", help="DistributedDataParallel across the processes of a torchrun job")
    add_runtime_flags(p)


def run(args: argparse.Namespace) -> int:
    from ..train import TrainingInterrupted, train
    from ..train.options import parse_option

    options = dict(parse_option(text) for text in args.option)
    try:
        summary = train(
            args.faces_a, args.faces_b, args.model, arch=args.arch, options=options, batch_size=args.batch_size,
            iterations=args.iterations, minutes=args.minutes, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
            warmup=args.warmup, clip=args.clip, clip_value=args.clip_value, mask_loss=args.mask_loss,
            mask_penalty=args.mask_penalty, learn_mask=args.learn_mask, eye_multiplier=args.eye_multiplier,
            mouth_multiplier=args.mouth_multiplier, warp=args.warp, warp_to_landmarks=args.warp_to_landmarks,
            flip=args.flip, augment_color=args.augment_color, holdout=args.holdout, gan=args.gan,
            gan_weight=args.gan_weight, save_every=args.save_every, snapshot_every=args.snapshot_every,
            preview_every=args.preview_every, timelapse=args.timelapse, eval_every=args.eval_every,
            log_every=args.log_every, seed=args.seed, compile=args.compile, distributed=args.distributed,
            resume=args.resume, device=args.device, precision=args.precision,
            tensorboard=args.tensorboard, quality=args.quality)
    except TrainingInterrupted as stop:
        print(f"twoface train: stopped by {stop.signal_name} at iteration {stop.summary.get('iteration')}; "
              f"saved to {args.model}", file=sys.stderr)
        return stop.exit_code
    if summary.get("rank", 0) == 0:
        print(f"trained to iteration {summary['iteration']}; model saved to {args.model}")
    return 0
