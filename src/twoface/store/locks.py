"""Who holds a file open: named in the message when a store is locked by another process."""
from __future__ import annotations

import os
from pathlib import Path


def holders(path: str | Path, limit: int = 3) -> list[str]:
    """``"pid N (command line)"`` of other processes with ``path`` (or its -wal/-journal) open.

    Linux only (``/proc``); elsewhere, or where other processes are hidden, an empty list.
    """
    try:
        target = os.path.realpath(path)
    except OSError:
        return []
    names = {target, target + "-wal", target + "-shm", target + "-journal"}
    found: list[str] = []
    me = os.getpid()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    except OSError:
        return []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in names:
                    found.append(f"pid {pid} ({_cmdline(pid)})")
                    break
            except OSError:
                continue
        if len(found) >= limit:
            break
    return found


def _cmdline(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return text[:80] + ("..." if len(text) > 80 else "")
