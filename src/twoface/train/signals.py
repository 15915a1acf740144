"""Ctrl-C and SIGTERM during training: finish the step, save, then stop.

Why not let KeyboardInterrupt fly: it can land in the middle of an optimizer step, leaving
weights and optimizer state out of step with each other. So the first signal only raises a
flag that the loop checks between steps; the loop then saves and raises
:class:`TrainingInterrupted`. A second Ctrl-C stops at once (a save in progress is crash-safe
anyway: the previous checkpoint stays loadable).
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by a signal after saving. ``summary`` is what train() would have returned."""

    def __init__(self, signum: int, summary: dict):
        super().__init__(f"training stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.summary = summary

    @property
    def signal_name(self) -> str:
        names: dict[int, str] = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}
        return names.get(self.signum, str(self.signum))

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + int(self.signum)


class StopRequest:
    """Catches SIGINT/SIGTERM while installed (main thread only) and remembers the first one."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now
        if self.signum is None:
            print("\nstopping after this step and saving (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
        self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None
