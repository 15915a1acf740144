"""A workspace with two short real clips (GRID speakers) and, for the API tests, one face set."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the UI's optional dependencies (pip install twoface[ui]) are not installed")

CLIPS = {"a": "multi_identity/grid/bbaf2n.mpg", "b": "multi_identity/grid/lbbc2a.mpg"}


def make_workspace(root: Path, data_dir: Path) -> Path:
    (root / "sources").mkdir(parents=True, exist_ok=True)
    for rel in CLIPS.values():
        shutil.copy(data_dir / rel, root / "sources" / Path(rel).name)
    return root


@pytest.fixture(scope="module")
def face_workspace(tmp_path_factory, data_dir) -> Path:
    """Workspace with faces/g: every 5th frame of one GRID clip, extracted into the workspace."""
    from twoface.extract import extract

    root = make_workspace(tmp_path_factory.mktemp("ws"), data_dir)
    extract(root / "sources" / "bbaf2n.mpg", root / "faces" / "g", every=5, size=64, progress=False)
    return root


def csrf_headers(app) -> dict:
    return {"X-Twoface-Token": app.state.ui.csrf, "accept": "application/json"}
