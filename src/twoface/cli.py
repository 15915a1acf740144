"""The ``twoface`` command: parses flags, calls the stage functions, maps errors to exit codes.

Every verb follows one style: positional inputs, long readable flags, a short
form only for the most common ones (-o, -m, -v), defaults that suit most users.
Each verb's flags live in ``twoface.commands.<verb>`` so that a verb reads in one place.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from . import __version__
from .errors import TwofaceError, from_os_error

# verb -> one-line help; the module twoface.commands.<verb> defines add_arguments(p) and run(args)
VERBS = {
    "extract": "find, align and save the faces of a video, image or image folder",
    "sort": "sort a face folder (identity, blur, pose, colour, size) so bad faces are easy to delete",
    "prune": "drop store entries whose face images were deleted",
    "inspect": "say what a face image, alignments store, model folder or converted output is",
    "train": "train a swap model on two face folders",
    "pretrain": "train a prior (shared encoder, one generic decoder) on the faces of many people",
    "convert": "swap faces in a video, image or folder with a trained model",
    "evaluate": "measure a model or a swapped video: identity, pose, expression, jitter, SSIM",
    "batch": "run many extract/train/convert jobs from a manifest, locally or on a Ray cluster",
    "export": "export a trained model as ONNX or as a DeepFaceLive DFM file",
    "demo": "run the whole pipeline on built-in demo clips",
    "doctor": "check the installation: device, precision, model files, libraries",
    "ui": "serve the workflow to a browser (local web app; live training view)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoface",
        description="Face swapping for video: extract -> sort/prune -> train -> convert -> evaluate. "
                    "Every output is labelled synthetic. Only swap faces of people who consented.",
    )
    parser.add_argument("--version", action="version", version=f"twoface {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb, help_text in VERBS.items():
        try:
            module = importlib.import_module(f"twoface.commands.{verb}")
        except ModuleNotFoundError as err:
            if err.name != f"twoface.commands.{verb}":
                raise
            continue  # a verb not built into this version
        p = sub.add_parser(verb, help=help_text, description=(module.__doc__ or help_text).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.add_argument("-v", "--verbose", action="store_true",
                       help="show debug messages, and details and tracebacks on errors")
        p.set_defaults(_run=module.run)
    return parser


def configure_logging(verbose: bool = False) -> None:
    """The library's messages (``logging`` under ``twoface``) as plain lines on stderr; -v adds debug detail.

    Configured here once, for the command line only: a program that imports twoface keeps its own logging.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("twoface")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the terminal
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # OpenCV 5 warns about DNN targets; users can't act on it
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        code = args._run(args)
        return int(code or 0)
    except TwofaceError as err:
        if args.verbose:
            traceback.print_exc()
        print(f"twoface {args.verb}: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        if args.verbose:
            traceback.print_exc()
        print(f"twoface {args.verb}: error: {from_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        said = getattr(err, "message", None) or "interrupted; work done so far is saved"
        print(f"\ntwoface {args.verb}: {said}", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so in one line, details with --verbose
        if args.verbose:
            traceback.print_exc()
        print(f"twoface {args.verb}: internal error: {type(err).__name__}: {err} "
              f"(run again with --verbose and report it)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
