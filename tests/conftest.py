"""Shared fixtures: the real dev clips, and extractions cached across tests and xdist workers.

Extraction of the real clips is the expensive part of the suite, so each
(input, options) pair is extracted once per test session, under a file lock
that all xdist workers share, and the result folder is reused read-only.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from twoface_testing import DATA, REPO, cached_extract  # noqa: F401  (re-exported for fixtures)

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("GLOG_minloglevel", "2")



@pytest.fixture(scope="session", autouse=True)
def _private_config(tmp_path_factory):
    """Tests never touch the user's config folder (the local C2PA signing key is made here instead)."""
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old


def _require_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"dev data not found at {DATA} (set TWOFACE_TEST_DATA); CI always has it")
    return DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared dev data folder (../shared/data/dev)."""
    return _require_data()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """A folder shared by all xdist workers of this run (the parent of each worker's basetemp)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "twoface-shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def faces_a(data_dir, shared_cache) -> Path:
    """Faces of person A (every 3rd frame of the Pexels clip): a small real training set."""
    return cached_extract(shared_cache, data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4",
                          every=3, size=128) / "faces"


@pytest.fixture(scope="session")
def faces_b(data_dir, shared_cache) -> Path:
    """Faces of person B (every 2nd frame of five CREMA-D clips; SAD is held out)."""
    clips = sorted((data_dir / "train/person_b_cremad_actor1001").glob("*.flv"))
    clips = [c for c in clips if "SAD" not in c.name]
    return cached_extract(shared_cache, clips, every=2, size=128) / "faces"


# ---- fuzz and fault case counts (tests/reliability) ------------------------------------------
# Each fuzz or kill test appends "[contract, n]" lines to one file; the controller (the only
# process that draws the terminal summary, also under xdist) adds them up per contract.
def pytest_configure(config):
    if not hasattr(config, "workerinput") and "TWOFACE_FUZZ_COUNTS" not in os.environ:
        import tempfile

        fd, path = tempfile.mkstemp(prefix="twoface-fuzz-counts-", suffix=".jsonl")
        os.close(fd)
        os.environ["TWOFACE_FUZZ_COUNTS"] = path  # inherited by xdist workers started after this
        config._twoface_fuzz_counts = path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    import json
    from collections import Counter

    path = getattr(config, "_twoface_fuzz_counts", None)
    if not path or not os.path.exists(path):
        return
    counts: Counter = Counter()
    with open(path) as fh:
        for line in fh:
            contract, n = json.loads(line)
            counts[contract] += n
    os.unlink(path)
    if counts:
        terminalreporter.write_sep("-", "twoface fuzz and fault-injection cases")
        for contract, n in sorted(counts.items()):
            terminalreporter.write_line(f"{contract:>28}: {n:6d}")
