"""One module per CLI verb: ``add_arguments(parser)`` and ``run(args) -> exit code``.

A verb's options come from its stage's options dataclass (``twoface.options.add_options``),
so defaults, choices and help are declared once; shared flag groups live here.
"""
from __future__ import annotations

import argparse

from ..options import RuntimeOptions, add_options


def add_runtime_flags(p: argparse.ArgumentParser) -> None:
    """--device / --precision, for verbs that run torch models (declared in ``RuntimeOptions``)."""
    add_options(p, RuntimeOptions)
