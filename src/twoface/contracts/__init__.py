"""Data contracts: every file twoface reads from a user is checked here, once, at the boundary.

One module per contract (face PNG metadata, store rows, model config.json and state.json,
the safetensors header) plus the shared limits (JSON size and depth, image pixels, inflated
metadata size). Each parser either returns values a stage can trust (right types and
shapes, finite numbers, known versions) or raises the right ``TwofaceError`` naming the
file and the field. No stage needs try/except around a damaged file's contents.

Part of the library: imports only ``twoface.errors``, numpy and the standard library.
"""
from __future__ import annotations

from .check import Checker
from .jsonsafe import MAX_JSON_DEPTH, load_json

__all__ = ["Checker", "MAX_JSON_DEPTH", "load_json"]
