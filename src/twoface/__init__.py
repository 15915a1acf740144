"""twoface: face swapping for video, offline and CPU-first, with labelled synthetic output.

The Python API mirrors the CLI verbs one to one; heavy modules load lazily so
``import twoface`` stays fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

_API = {
    "extract": ("twoface.extract", "extract"),
    "train": ("twoface.train", "train"),
    "convert": ("twoface.convert", "convert"),
    "evaluate": ("twoface.evaluate", "evaluate"),
    "sort_faces": ("twoface.curate", "sort_faces"),
    "prune": ("twoface.curate", "prune"),
    "inspect": ("twoface.inspect", "inspect_path"),
}


def __getattr__(name: str):
    if name in _API:
        import importlib

        module, attr = _API[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'twoface' has no attribute {name!r}")


__all__ = ["__version__", *_API]
