"""The model zoo: faceswap's architectures in PyTorch, behind one registry.

    model = build("original", learn_mask=True)
    y = model(x, "b")                    # x: N×3×64×64 RGB in [0, 1] → N×4×64×64
    build(model.arch, **model.options)   # the same shapes again (what config.json stores)

``ARCHS`` maps the names users type (``--arch``) to model classes; each class
declares its options, so ``default_options(arch)`` and the error messages come
from one place.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import ModelError

if TYPE_CHECKING:
    from .base import SharedEncoderModel, SwapModel
    from .options import Option

# loaded on first use, so that ``twoface.models.onnx_engine`` (and anything else here that does
# not need torch) imports on a machine without torch
_LAZY = {"SIDES": "base", "SharedEncoderModel": "base", "SwapModel": "base", "Option": "options"}


def _archs() -> dict[str, type]:
    from .cpu import Cpu
    from .custom import Custom
    from .dfaker import Dfaker
    from .dlight import DLight
    from .iae import IAE
    from .lightweight import Lightweight
    from .original import Original
    from .realface import RealFace
    from .villain import Villain

    return {cls.arch: cls for cls in (Original, Lightweight, IAE, Dfaker, Villain, RealFace, DLight, Custom, Cpu)}


def __getattr__(name: str) -> Any:
    if name == "ARCHS":
        globals()["ARCHS"] = archs = _archs()
        return archs
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_class(arch: str) -> type[SwapModel]:
    """The class registered as ``arch``, or a ModelError naming the valid architectures."""
    archs = globals().get("ARCHS") or __getattr__("ARCHS")
    try:
        return archs[arch]
    except (KeyError, TypeError):
        raise ModelError(f"unknown architecture {arch!r}; choose one of: {', '.join(archs)}") from None


def default_options(arch: str) -> dict[str, Any]:
    """Every option of ``arch`` with its default (``None`` means chosen from the others)."""
    return {name: opt.default for name, opt in model_class(arch).OPTIONS.items()}


def option_help(arch: str) -> dict[str, str]:
    """One line per option: what it does and what values it takes (for --help and errors)."""
    return {name: f"{opt.help} ({opt.describe()}; default {opt.default})"
            for name, opt in model_class(arch).OPTIONS.items()}


def build(arch: str, **options: Any) -> SwapModel:
    """A freshly initialised model; unknown names or bad values raise ModelError."""
    return model_class(arch)(options)


__all__ = ["ARCHS", "SIDES", "Option", "SharedEncoderModel", "SwapModel", "build", "default_options",
           "model_class", "option_help"]
