"""Fixtures for the curate tests: real extractions shared with tests/test_extract.py.

The option sets match test_extract.py's on purpose, so the whole suite extracts
the GRID clips and the two-faces clip once (cached_extract keys on inputs + options).
Tests never touch the cached folders: they work on copies (`work_copy`).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twoface_testing import cached_extract

CLI = [sys.executable, "-m", "twoface.cli"]
GRID_SPEAKER = {"pwij3p": "G7", "id2_vcd_swwp2s": "G7"}  # G7 appears in two clips (MANIFEST.md)
TWO_FACES = "convert/two_faces_side_by_side.mp4"
TWO_FACES_WIDTH = 720  # A fills the left 360 px, B (CREMA-D actor 1001) the right 360 px


def twoface(*args, **kw) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, **kw)


@pytest.fixture()
def cli(capsys):
    """Run the CLI in this process (cheaper than a subprocess): returns (exit code, stdout, stderr)."""
    from twoface.cli import main

    def run(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)
    return run


def speaker_of(source_path: str) -> str:
    stem = Path(source_path).stem
    return GRID_SPEAKER.get(stem, stem)


def tree_hashes(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder`` (hidden files included)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def work_copy(extracted: Path, dest: Path) -> tuple[Path, Path]:
    """Copy a cached extraction (faces + stores) to ``dest``; returns (faces folder, the one store)."""
    shutil.copytree(extracted, dest)
    stores = sorted((dest / "stores").glob("*.twoface.db"))
    return dest / "faces", stores[0]


@pytest.fixture(scope="session")
def grid_extract(data_dir, shared_cache) -> Path:
    """The 11 GRID clips (10 speakers) extracted into one face folder: 15 faces a clip."""
    clips = sorted((data_dir / "multi_identity/grid").glob("*.mpg"))
    assert len(clips) == 11, f"expected the 11 GRID clips in {data_dir}"
    return cached_extract(shared_cache, clips, every=5, size=96)


@pytest.fixture(scope="session")
def two_faces_extract(data_dir, shared_cache) -> Path:
    """two_faces_side_by_side.mp4 (A left, B right, 50 frames) extracted: 100 faces."""
    return cached_extract(shared_cache, data_dir / TWO_FACES, size=96)
