"""Atomic writes: a file is either the old version or the new one, never half of each."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import from_os_error


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=(suffix or path.suffix) + ".tmp", dir=path.parent)
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; outputs should be as readable as any new file
        os.close(fd)
    except OSError as err:
        raise from_os_error(err, path) from err
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    commit_file(tmp_path, path)


def commit_file(tmp: Path, final: str | Path) -> None:
    """fsync a finished temporary file and rename it over ``final``; on failure remove it.

    The one place where "written elsewhere, then swapped in" happens, for callers that
    write the temporary file themselves (e.g. an encoder holding it open for a while).
    """
    try:
        _fsync(tmp)
        os.replace(tmp, final)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise from_os_error(err, final) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and racy under threads


def file_mode() -> int:
    """rw for everyone the umask allows (what a plain open() would create), for files made private first."""
    return 0o666 & ~_UMASK


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name, then swap it in whole.

    The old folder (if any) is renamed aside first and removed only after the
    new one is in place, so a crash at any point leaves one complete folder.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    old = path.with_name(f".{path.name}.old")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    except OSError as err:
        raise from_os_error(err, path) from err
    try:
        yield tmp
        for f in tmp.iterdir():
            if f.is_file():
                _fsync(f)
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise from_os_error(err, path) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fsync_path(path: str | Path) -> None:
    """Flush a file's (or a folder's, after renames in it) data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_fsync = fsync_path


def sha256_file(path: str | Path) -> str:
    """The sha256 of a whole file, read in blocks (model files, clips, checkpoints)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: str | Path) -> str:
    """A cheap content fingerprint: size plus sha256 of the first MiB (DESIGN §2).

    An image folder's fingerprint is of its sorted file names and sizes (``dir:...``),
    so the store of a frame folder is recognised as long as its files are unchanged.
    """
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        for p in sorted(path.iterdir()):
            if p.is_file():
                h.update(f"{p.name}:{p.stat().st_size};".encode())
        return f"dir:{h.hexdigest()[:32]}"
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError as err:
        raise from_os_error(err, path) from err
    return f"{size}:{hashlib.sha256(head).hexdigest()[:32]}"
