"""Test helpers importable from any test folder as ``from twoface_testing import ...``.

(A plain ``from conftest import`` would pick whichever of the several conftest.py files
pytest imported last.)
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))


def cached_extract(cache: Path, inputs: list[Path] | Path, **options) -> Path:
    """Extract ``inputs`` (one or more sources) into one face folder, once per test session.

    Returns the folder; each source's store is ``<folder>/stores/<name>.twoface.db``.
    """
    from twoface.extract import extract

    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    key = hashlib.sha1(json.dumps([[str(p) for p in inputs], options], sort_keys=True, default=str)
                       .encode()).hexdigest()[:12]
    out = cache / f"extract-{key}"
    lock = cache / f"extract-{key}.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (out / ".done").exists():
            shutil.rmtree(out, ignore_errors=True)
            faces = out / "faces"
            stores = out / "stores"
            stores.mkdir(parents=True)
            for src in inputs:
                extract(src, faces, store=stores / f"{Path(src).name}.twoface.db", progress=False, **options)
            (out / ".done").write_text("ok")
    return out
