"""Tests of twoface.curate (sort, prune).

A package, so that its conftest and tests import the shared helpers of
tests/conftest.py by file path: several test folders hold a ``conftest.py``,
and ``from conftest import ...`` gets whichever pytest imported last.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _root_conftest():
    name = "_twoface_tests_root_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


cached_extract = _root_conftest().cached_extract
