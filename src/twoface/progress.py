"""The progress bars of the stages: over frames (``FrameProgress``) and over items (``tracked``).

Why one module: extract and convert each had their own copy of the same rich bar.
Progress bars are the only output of the library besides ``logging`` (configured once
in ``cli.main``); rich draws on stderr, so piped stdout stays clean.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sized
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
PROGRESS_MIN = 200  # smaller item jobs finish before a bar would be worth drawing


class FrameProgress:
    """A rich progress bar over frame indices (``enabled=False``: nothing at all).

    ``count`` names an extra running figure shown beside the speed (extract: "faces").
    """

    def __init__(self, verb: str, label: str | Path, total: int, start: int = 0, *, enabled: bool = True,
                 count: str | None = None):
        self._p: Any = None
        self._count = count
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        speed = "{task.fields[fps]:.1f} frames/s" + (f"  {{task.fields[count]}} {count}" if count else "")
        self._p = Progress(TextColumn(f"[bold]{verb}[/] {{task.description}}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn(speed), TimeElapsedColumn(), TimeRemainingColumn(),
                           console=Console(stderr=True))
        self._p.start()
        self._task = self._p.add_task(Path(label).name, total=max(total, start) or None, completed=start,
                                      fps=0.0, count=0)
        self._t0 = time.monotonic()
        self._start = start

    def update(self, index: int, count: int | None = None) -> None:
        """Frame ``index`` is done (and ``count`` is the running figure, when the bar shows one)."""
        if self._p is None:
            return
        dt = max(time.monotonic() - self._t0, 1e-6)
        fields: dict[str, Any] = {"fps": (index + 1 - self._start) / dt}
        if count is not None:
            fields["count"] = count
        self._p.update(self._task, completed=index + 1, **fields)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None

    def __enter__(self) -> FrameProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def tracked(seq: Iterable[T], description: str, enabled: bool, total: int | None = None) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr when ``enabled`` and the job is big enough."""
    total = len(seq) if total is None and isinstance(seq, Sized) else total
    if not enabled or (total is not None and total < PROGRESS_MIN):
        yield from seq
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(seq, description=description, total=total, console=Console(stderr=True), transient=True)
