"""Jobs: every long action runs the stage function in a process of its own, recorded in SQLite.

Why a process per job and a table: a stage can run for hours, use every core, or crash, and the
UI must outlive all of that. Each job is ``python -m twoface.ui.worker SPEC RESULT`` in its own
session, its output going to a log file; the ``jobs`` table in ``WORKSPACE/.twoface-ui/jobs.db``
holds what was asked, the state and the result, so a restarted UI shows every job. A job found
``running`` whose process is gone is marked ``interrupted``; resuming runs the same spec again,
and the stages themselves continue where they stopped. Cancelling sends SIGINT, which training
answers by saving first. One queue per device: jobs on the same queue run one after another.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  queue TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  result TEXT,
  error TEXT,
  pid INTEGER,
  exit_code INTEGER,
  created REAL NOT NULL,
  started REAL,
  finished REAL
)"""
ACTIVE = ("queued", "running", "cancelling")
FINAL = ("done", "failed", "cancelled", "interrupted")
SIDE_QUEUE = "side"  # short jobs (a try-conversion) that run beside a training


@dataclass
class Job:
    id: int
    kind: str
    title: str
    queue: str
    status: str
    spec: dict
    result: dict | None
    error: str | None
    pid: int | None
    exit_code: int | None
    created: float
    started: float | None
    finished: float | None

    @property
    def resumable(self) -> bool:
        return self.status in ("interrupted", "cancelled", "failed")

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"resumable": self.resumable}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class JobStore:
    """The jobs table. One connection per call: the runner threads and requests share the file."""

    def __init__(self, state_dir: Path):
        self.dir = Path(state_dir)
        self.logs = self.dir / "jobs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "jobs.db"
        with self._db() as db:
            db.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    def _job(self, row: sqlite3.Row) -> Job:
        d = dict(row)
        d["spec"] = json.loads(d["spec"])
        d["result"] = json.loads(d["result"]) if d["result"] else None
        return Job(**d)

    def add(self, kind: str, title: str, spec: dict, queue: str) -> Job:
        with self._db() as db:
            cur = db.execute("INSERT INTO jobs (kind, title, queue, status, spec, created) VALUES (?,?,?,?,?,?)",
                             (kind, title, queue, "queued", json.dumps(spec), time.time()))
            return self.get(cur.lastrowid)

    def get(self, job_id: int) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def list(self, kind: str | None = None, limit: int = 200) -> list[Job]:
        with self._db() as db:
            if kind:
                rows = db.execute("SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit))
            else:
                rows = db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
            return [self._job(r) for r in rows.fetchall()]

    def update(self, job_id: int, **values) -> None:
        if "result" in values and values["result"] is not None:
            values["result"] = json.dumps(values["result"])
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._db() as db:
            db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*values.values(), job_id))

    def next_queued(self, queue: str) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE queue = ? AND status = 'queued' ORDER BY id LIMIT 1",
                             (queue,)).fetchone()
        return self._job(row) if row else None

    def log_path(self, job_id: int) -> Path:
        return self.logs / f"{job_id}.log"

    def log_tail(self, job_id: int, max_bytes: int = 6000) -> str:
        path = self.log_path(job_id)
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - max_bytes))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        # rich redraws progress lines with carriage returns: keep the last state of each line
        return "\n".join(line.split("\r")[-1] for line in text.splitlines())


class Runner:
    """Starts queued jobs (one at a time per queue) and watches them until they end."""

    def __init__(self, store: JobStore, workspace: Path, poll: float = 0.25):
        self.store = store
        self.workspace = Path(workspace)
        self.poll = poll
        self._stop = threading.Event()
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def recover(self) -> None:
        """After a restart: running jobs whose process died are interrupted; live ones are adopted."""
        for job in self.store.list(limit=100000):
            if job.status in ("running", "cancelling"):
                if not _alive(job.pid):
                    self._finish_from_result(job, interrupted=True)

    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="twoface-ui-jobs", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 20.0) -> None:
        """Stop the scheduler; running jobs get SIGINT (training saves) and are waited for."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            procs = dict(self._procs)
        for proc in procs.values():
            self._signal(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + wait
        for job_id, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc.pid, signal.SIGKILL)
                proc.wait()
            job = self.store.get(job_id)
            if job is not None:
                self._finish_from_result(job, interrupted=True, code=proc.returncode)

    # --- requests -------------------------------------------------------------------------------
    def submit(self, kind: str, title: str, spec: dict, queue: str) -> Job:
        return self.store.add(kind, title, spec, queue)

    def cancel(self, job_id: int) -> Job | None:
        job = self.store.get(job_id)
        if job is None:
            return None
        if job.status == "queued":
            self.store.update(job_id, status="cancelled", finished=time.time())
        elif job.status == "running":
            self.store.update(job_id, status="cancelling")
            self._signal(job.pid, signal.SIGINT)
        return self.store.get(job_id)

    def resume(self, job_id: int) -> Job | None:
        """Queue the same spec again as a new job (the stages continue from their saved state)."""
        job = self.store.get(job_id)
        if job is None or not job.resumable:
            return None
        spec = dict(job.spec)
        return self.submit(job.kind, job.title, spec, job.queue)

    # --- the loop ---------------------------------------------------------------------------------
    @staticmethod
    def _signal(pid: int | None, sig: int) -> None:
        if not pid:
            return
        try:
            os.killpg(pid, sig)  # the worker leads its own session: its helpers get it too
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _busy_queues(self) -> set[str]:
        return {j.queue for j in self.store.list(limit=1000) if j.status in ("running", "cancelling")}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                busy = self._busy_queues()
                queued = {j.queue for j in self.store.list(limit=1000) if j.status == "queued"}
                for queue in sorted(queued - busy):
                    job = self.store.next_queued(queue)
                    if job is not None:
                        self._launch(job)
            except Exception as err:  # never let the scheduler die; say why in the log
                import logging

                logging.getLogger(__name__).exception("job scheduler: %s", err)
            self._stop.wait(self.poll)

    def _launch(self, job: Job) -> None:
        spec_path = self.store.logs / f"{job.id}.spec.json"
        result_path = self.store.logs / f"{job.id}.result.json"
        result_path.unlink(missing_ok=True)
        atomic_write_text(spec_path, json.dumps(job.spec))
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])  # the twoface that runs this UI runs the jobs
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("GLOG_minloglevel", "2")
        env.setdefault("OPENCV_LOG_LEVEL", "ERROR")
        log = open(self.store.log_path(job.id), "ab")
        try:
            proc = subprocess.Popen([sys.executable, "-m", "twoface.ui.worker", str(spec_path), str(result_path)],
                                    cwd=self.workspace, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        finally:
            log.close()
        with self._lock:
            self._procs[job.id] = proc
        self.store.update(job.id, status="running", pid=proc.pid, started=time.time())

    def _reap(self) -> None:
        with self._lock:
            items = list(self._procs.items())
        for job_id, proc in items:
            code = proc.poll()
            if code is None:
                continue
            with self._lock:
                self._procs.pop(job_id, None)
            job = self.store.get(job_id)
            if job is not None:
                self._finish_from_result(job, code=code)
        # adopted jobs (started by an earlier UI process): finished when their process is gone
        for job in self.store.list(limit=1000):
            if job.status in ("running", "cancelling") and job.id not in self._procs and not _alive(job.pid):
                self._finish_from_result(job)

    def _finish_from_result(self, job: Job, interrupted: bool = False, code: int | None = None) -> None:
        result_path = self.store.logs / f"{job.id}.result.json"
        result = None
        try:
            result = json.loads(result_path.read_text("utf-8"))
        except (OSError, ValueError):
            pass
        if result is not None and result.get("ok"):
            status, error = "done", None
        elif result is not None and result.get("interrupted"):
            status, error = ("cancelled" if job.status == "cancelling" else "interrupted"), None
        elif result is not None and result.get("error"):
            status, error = "failed", result["error"]
        elif job.status == "cancelling":
            status, error = "cancelled", None
        else:
            status = "interrupted" if interrupted or code is None or code < 0 else "failed"
            error = None if status == "interrupted" else f"the job's process ended with exit code {code}"
        self.store.update(job.id, status=status, result=(result or {}).get("result"), error=error,
                          exit_code=code if code is not None else (result or {}).get("exit_code"),
                          finished=time.time())
