"""What the live training view shows, read from the files the trainer writes.

Why files and not a pipe from the trainer: a training started with the CLI (or by an earlier UI)
must show the same way. The trainer writes TensorBoard events in ``MODEL/logs`` (losses every
--log-every, validation and identity every --eval-every, flushed at each preview),
``previews/latest.jpg`` atomically, ``state.json`` at each save (with a loss curve), and its
console line (iteration, losses, faces/s, ETA) to the job's log.
"""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path

SERIES = ("loss/a", "loss/b", "valid/a", "valid/b", "identity/a2b", "identity/b2a", "speed/faces_per_s")
LINE = re.compile(r"it\s+(\d+)\s+loss A ([\d.naninf]+) B ([\d.naninf]+).*?([\d.]+) faces/s(?:\s+ETA (\d+:\d\d:\d\d))?")


class EventReader:
    """Scalars of one model's TensorBoard logs, read incrementally (each event file once)."""

    def __init__(self, model_dir: Path):
        self.logs = Path(model_dir) / "logs"
        self._loaders: dict[Path, object] = {}
        self.points: dict[str, dict[int, float]] = {}
        self._lock = threading.Lock()

    def read(self) -> dict[str, list[list[float]]]:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        with self._lock:
            files = sorted(self.logs.glob("events.out.tfevents.*")) if self.logs.is_dir() else []
            for path in files:
                loader = self._loaders.get(path)
                if loader is None:
                    loader = self._loaders[path] = EventFileLoader(str(path))
                for event in loader.Load():
                    for value in event.summary.value:
                        number = _number(value)
                        if number is not None:
                            self.points.setdefault(value.tag, {})[int(event.step)] = number
            return {tag: [[s, v] for s, v in sorted(pts.items())] for tag, pts in self.points.items()}


def _number(value) -> float | None:
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.HasField("tensor") and value.tensor.float_val:
        return float(value.tensor.float_val[0])
    return None


def state_curve(model_dir: Path) -> dict[str, list[list[float]]]:
    """The loss curve kept in state.json (written at each save): the fallback without TensorBoard."""
    try:
        state = json.loads((Path(model_dir) / "state.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    hist = state.get("loss_history", {})
    curve = hist.get("curve", [])
    out = {"loss/a": [[c[0], c[1]] for c in curve], "loss/b": [[c[0], c[2]] for c in curve]}
    valid = hist.get("valid", [])
    out["valid/a"] = [[v["iteration"], v["valid_a"]] for v in valid if v.get("valid_a") is not None]
    out["valid/b"] = [[v["iteration"], v["valid_b"]] for v in valid if v.get("valid_b") is not None]
    out["identity/a2b"] = [[v["iteration"], v["identity_a2b"]] for v in valid if v.get("identity_a2b") is not None]
    return out


def saved_iteration(model_dir: Path) -> int | None:
    try:
        return int(json.loads((Path(model_dir) / "state.json").read_text("utf-8"))["iteration"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def console_stats(log_text: str) -> dict:
    """The last console line of a training log: iteration, losses, faces/s, ETA."""
    last = None
    for m in LINE.finditer(log_text):
        last = m
    if last is None:
        return {}
    it, a, b, speed, eta = last.groups()
    return {"iteration": int(it), "loss_a": a, "loss_b": b, "faces_per_s": float(speed), "eta": eta}


def chart_payload(series: dict[str, list[list[float]]]) -> dict:
    """uPlot wants aligned columns: x values, then one y column per series (None where missing)."""
    losses = {k: dict((int(s), v) for s, v in series.get(k, [])) for k in ("loss/a", "loss/b")}
    xs = sorted(set(losses["loss/a"]) | set(losses["loss/b"]))
    quality = {k: dict((int(s), v) for s, v in series.get(k, [])) for k in ("valid/a", "valid/b", "identity/a2b",
                                                                            "identity/b2a")}
    qx = sorted(set().union(*[set(v) for v in quality.values()]))
    return {"loss": [xs, [losses["loss/a"].get(x) for x in xs], [losses["loss/b"].get(x) for x in xs]],
            "quality": [qx] + [[quality[k].get(x) for x in qx] for k in quality],
            "quality_labels": list(quality), "points": len(xs)}
