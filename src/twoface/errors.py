"""The few exceptions twoface raises on purpose.

Every user mistake (a bad path, a corrupt file, a foreign store...) becomes a
``TwofaceError``: the CLI prints its one-line message and exits with its code,
never a traceback. Anything else is a bug and is reported as such.
"""
from __future__ import annotations

import errno
from pathlib import Path


class TwofaceError(Exception):
    """A problem the user can fix. ``str(err)`` is the whole message."""

    exit_code = 2

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class InputError(TwofaceError):
    """A missing, unreadable, corrupt or unsupported input file."""


class StoreError(TwofaceError):
    """An alignments store that is foreign, newer than us, or damaged."""


class ModelError(TwofaceError):
    """A model directory that is not twoface's, of another architecture, or truncated."""


class OutputError(TwofaceError):
    """An output that cannot be written (permissions, full disk) or would be overwritten."""


class MissingDependency(TwofaceError):
    """A package or model file that set-up should have installed."""

    exit_code = 3


def from_os_error(err: OSError, path: str | Path | None = None) -> TwofaceError:
    """Turn an OSError into a one-line user error naming the file."""
    where = path if path is not None else getattr(err, "filename", None)
    reasons = {
        errno.ENOENT: "no such file or folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "no space left on the device",
        errno.EROFS: "read-only file system",
        errno.EISDIR: "is a folder, expected a file",
        errno.ENOTDIR: "is not a folder",
    }
    reason = reasons.get(err.errno or -1, err.strerror or str(err))
    cls = OutputError if err.errno in (errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS) else InputError
    return cls(reason, where)
