"""Where ``twoface evaluate`` writes its report: checked before any minute of evaluation is spent.

Why so strict: ``-o`` is easy to mistype (``-o models/ab/config.json``, ``-o faces/a/0001.png``),
and evaluating takes minutes. So an existing file is replaced only with ``--overwrite`` and only
when it is itself a twoface report; and a folder that cannot be written is found up front.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import OutputError

REPORT_FORMAT = "twoface-report"
MAX_REPORT_BYTES = 16 << 20  # reports are a few KB; anything bigger is not one


def is_report(path: Path) -> bool:
    """True when ``path`` holds a report written by ``twoface evaluate`` (this or an older version)."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return False
    if not isinstance(data, dict):
        return False
    return data.get("format") == REPORT_FORMAT or ("judge" in data and "twoface_version" in data and "swap" in data)


def check_output(output: str | Path, overwrite: bool) -> Path:
    """Refuse an output that exists (without ``overwrite``), is not a report, or cannot be written."""
    path = Path(output)
    if path.is_dir():
        raise OutputError("is a folder; give a file name for the report (e.g. report.json)", path)
    if path.exists() or path.is_symlink():
        if not is_report(path):
            raise OutputError("exists and is not a twoface report; it is never replaced (choose another -o)", path)
        if not overwrite:
            raise OutputError("exists; pass --overwrite to replace this report, or choose another -o", path)
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError("cannot hold the report (a file is in the way)", probe)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise OutputError(f"cannot write the report there ({err.strerror or err})", probe) from err
    return path
