"""One job's process: ``python -m twoface.ui.worker SPEC.json RESULT.json``.

Runs a stage function with the keyword arguments in the spec (the option dataclasses' field
names, so the UI, the CLI and the Python API share one set of names) and writes the outcome as
JSON: ``{"ok": true, "result": ...}``, ``{"interrupted": true}`` after Ctrl-C/SIGINT (training
saves first), or ``{"error": "one line"}`` for bad input. Output goes to the job's log.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write_text


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def run_stage(stage: str, kwargs: dict) -> Any:
    """Call the stage function named ``stage`` (the same ones the CLI verbs call)."""
    import twoface

    functions = {
        "extract": lambda kw: twoface.extract(**kw),
        "train": lambda kw: twoface.train(**kw),
        "convert": lambda kw: twoface.convert(**kw),
        "evaluate": lambda kw: twoface.evaluate(**kw),
        "sort": lambda kw: twoface.sort_faces(**kw),
        "prune": lambda kw: twoface.prune(**kw),
    }
    if stage not in functions:
        raise ValueError(f"unknown stage {stage!r}")
    return functions[stage](dict(kwargs))


def main(argv: list[str]) -> int:
    from ..errors import TwofaceError, from_os_error

    spec_path, result_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text("utf-8"))
    stage, kwargs = spec["stage"], spec.get("kwargs", {})
    print(f"[{time.strftime('%H:%M:%S')}] twoface {stage}: started (pid {os.getpid()})", flush=True)
    outcome: dict
    code = 0
    try:
        result = run_stage(stage, kwargs)
        outcome = {"ok": True, "result": _jsonable(result)}
        print(f"[{time.strftime('%H:%M:%S')}] twoface {stage}: done", flush=True)
    except KeyboardInterrupt as stop:
        summary = getattr(stop, "summary", None)
        outcome = {"interrupted": True, "result": _jsonable(summary) if summary else None}
        code = int(getattr(stop, "exit_code", 130))
        print(f"[{time.strftime('%H:%M:%S')}] twoface {stage}: stopped; work done so far is saved", flush=True)
    except TwofaceError as err:
        outcome, code = {"error": str(err)}, err.exit_code
        print(f"twoface {stage}: error: {err}", flush=True)
    except OSError as err:
        outcome, code = {"error": str(from_os_error(err))}, 2
        print(f"twoface {stage}: error: {outcome['error']}", flush=True)
    except Exception as err:  # a bug: one line here, the traceback in the log
        traceback.print_exc()
        outcome, code = {"error": f"internal error: {type(err).__name__}: {err}"}, 70
    outcome["exit_code"] = code
    atomic_write_text(result_path, json.dumps(outcome))
    return code


if __name__ == "__main__":
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    sys.exit(main(sys.argv[1:]))
