"""twoface: face swapping for video, offline and CPU-first, with labelled synthetic output.

The Python API mirrors the CLI verbs one to one: ``twoface.extract(...)``,
``twoface.train(...)``, ``twoface.convert(...)``, ``twoface.evaluate(...)``,
``twoface.inspect(...)``, ``twoface.sort_faces(...)``, ``twoface.prune(...)``.
Heavy modules load lazily so ``import twoface`` (and the CLI's --help) stay fast.
"""
from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

# name -> (module, function). Where the name is also a submodule (twoface.extract is both the
# stage module and its entry point), the module itself is made callable, because Python's import
# system puts the submodule on the package under that name once it is imported.
_API = {
    "extract": ("twoface.extract", "extract"),
    "train": ("twoface.train", "train"),
    "convert": ("twoface.convert", "convert"),
    "evaluate": ("twoface.evaluate", "evaluate"),
    "inspect": ("twoface.inspect", "inspect_path"),
    "sort_faces": ("twoface.curate", "sort_faces"),
    "prune": ("twoface.curate", "prune"),
}


class _StageModule(types.ModuleType):
    """A stage module that can be called as its entry-point function."""

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__twoface_entry__)(*args, **kwargs)


def _callable_stage(module_name: str, entry: str) -> None:
    module = sys.modules[module_name]
    setattr(module, "__twoface_entry__", entry)  # noqa: B010 (a new attribute on a module object)
    module.__class__ = _StageModule


def __getattr__(name: str):
    if name in _API:
        module_name, attr = _API[name]
        module = importlib.import_module(module_name)
        if module_name == f"twoface.{name}":
            _callable_stage(module_name, attr)
            return module
        return getattr(module, attr)
    raise AttributeError(f"module 'twoface' has no attribute {name!r}")


__all__ = ["__version__", *_API]
