"""Read and check a batch manifest (YAML or JSON lines) in one place, before any job runs.

Why all checks up front: a batch may run for days on a cluster; a typo in job 900 must cost
nothing. Every problem is one line naming the manifest file and the line of the job
(``manifest.yaml: line 12: job 'ab': ...``), raised as :class:`ManifestError` (exit 2).

Options are not re-declared here: the keys a job accepts are the fields of the stage's own
option dataclass (``ExtractOptions``, ``TrainOptions``, ``ConvertOptions``), and their values
are validated by constructing that dataclass.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, MissingDependency

KINDS = ("extract", "train", "convert", "real")
# keys every job may carry: scheduling and bookkeeping, not stage options
COMMON = ("id", "kind", "after", "num_cpus", "num_gpus", "resources")
# per kind: path-valued keys (resolved against the manifest's folder), required keys, label keys
PATHS = {
    "extract": ("input", "faces", "store"),
    "train": ("faces_a", "faces_b", "model"),
    "convert": ("input", "model", "output", "store"),
    "real": ("input",),
}
REQUIRED = {"extract": ("input",), "train": ("faces_a", "faces_b", "model", "iterations"),
            "convert": ("input", "model", "output"), "real": ("input",)}
LABELS = {"extract": ("identity",), "train": ("identity_a", "identity_b"),
          "convert": ("source_identity", "target_identity"), "real": ("identity",)}
# stage options a batch sets itself (or that would defeat resuming / never overwriting)
RESERVED = {"extract": ("debug_landmarks",), "train": ("faces_a", "faces_b", "model_dir", "distributed", "resume"),
            "convert": ("overwrite",), "real": ()}


class ManifestError(InputError):
    """A manifest that cannot run as written: names the file and the line."""

    def __init__(self, message: str, path: str | Path, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message, path)


@dataclass
class Job:
    """One unit of work of a batch, with paths made absolute and dependencies resolved."""

    id: str
    kind: str
    line: int
    paths: dict[str, str]  # the path-valued keys (absolute)
    options: dict  # the stage's own options (fields of its dataclass)
    labels: dict = field(default_factory=dict)
    after: list[str] = field(default_factory=list)  # explicit and implied, in manifest order
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)

    def inputs(self) -> list[str]:
        keys = {"extract": ("input",), "train": ("faces_a", "faces_b"), "convert": ("input", "model", "store"),
                "real": ("input",)}[self.kind]
        refs = [str(p) for p in self.options.get("filter", []) + self.options.get("exclude", [])]
        return [self.paths[k] for k in keys if self.paths.get(k)] + refs

    def outputs(self) -> list[str]:
        keys = {"extract": ("faces", "store"), "train": ("model",), "convert": ("output",), "real": ()}[self.kind]
        return [self.paths[k] for k in keys if self.paths.get(k)]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Job:
        return cls(**d)


@dataclass
class Manifest:
    path: Path
    jobs: list[Job]

    def by_id(self) -> dict[str, Job]:
        return {j.id: j for j in self.jobs}


def load_manifest(path: str | Path) -> Manifest:
    """Parse, normalise and check ``path``; raise :class:`ManifestError` on the first problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such manifest file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the manifest ({err})", path) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        defaults, raw = _read_yaml(path, text)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        defaults, raw = _read_jsonl(path, text)
    else:
        raise ManifestError("unknown manifest type; name it .yaml/.yml (YAML) or .jsonl (JSON lines)", path)
    if not raw:
        raise ManifestError("lists no jobs", path)
    base = path.resolve().parent
    jobs = [_normalise(path, base, line, entry, defaults, n) for n, (line, entry) in enumerate(raw)]
    _check_graph(path, jobs)
    return Manifest(path=path, jobs=jobs)


# --- reading ---------------------------------------------------------------------------------
def _read_yaml(path: Path, text: str) -> tuple[dict, list[tuple[int, object]]]:
    try:
        import yaml  # type: ignore[import-untyped]
    except ModuleNotFoundError:
        raise MissingDependency("YAML manifests need PyYAML: pip install 'twoface[cluster]' "
                                "(or write the manifest as JSON lines, .jsonl)") from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ManifestError(f"not valid YAML: {what}", path, mark.line + 1 if mark else None) from None
    if data is None:
        return {}, []
    seq = root
    defaults: dict = {}
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"jobs", "defaults"})
        if unknown:
            raise ManifestError(f"unknown top-level key(s) {', '.join(map(str, unknown))}; "
                                "a manifest has 'jobs' (a list) and optionally 'defaults'", path, 1)
        defaults = data.get("defaults") or {}
        seq = next((v for k, v in root.value if k.value == "jobs"), None)
        data = data.get("jobs") or []
    if not isinstance(data, list):
        raise ManifestError("'jobs' must be a list of jobs", path, 1)
    lines = [item.start_mark.line + 1 for item in seq.value] if seq is not None else [1] * len(data)
    return _check_defaults(path, defaults), list(zip(lines, data))


def _read_jsonl(path: Path, text: str) -> tuple[dict, list[tuple[int, object]]]:
    defaults: dict = {}
    raw: list[tuple[int, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            raise ManifestError(f"not valid JSON ({err.msg} at column {err.colno})", path, number) from None
        if isinstance(entry, dict) and set(entry) == {"defaults"}:
            defaults = _check_defaults(path, entry["defaults"], number)
            continue
        raw.append((number, entry))
    return defaults, raw


def _check_defaults(path: Path, defaults, line: int = 1) -> dict:
    if not isinstance(defaults, dict) or any(k not in KINDS or not isinstance(v, dict) for k, v in defaults.items()):
        raise ManifestError(f"'defaults' maps a job kind ({', '.join(KINDS)}) to options for every job of that "
                            "kind", path, line)
    return defaults


# --- one job ---------------------------------------------------------------------------------
def _stage_fields(kind: str) -> set[str]:
    if kind == "extract":
        from ..extract import ExtractOptions

        fields = dataclasses.fields(ExtractOptions)
    elif kind == "train":
        from ..train.options import TrainOptions

        fields = dataclasses.fields(TrainOptions)
    elif kind == "convert":
        from ..convert.options import ConvertOptions

        fields = dataclasses.fields(ConvertOptions)
    else:
        return set()
    return {f.name for f in fields} - set(RESERVED[kind])


def _normalise(path: Path, base: Path, line: int, entry, defaults: dict, n: int) -> Job:
    def fail(message: str):
        raise ManifestError(f"{where}{message}", path, line)

    where = ""
    if not isinstance(entry, dict):
        fail("a job must be a mapping (key: value), e.g. {kind: extract, input: clip.mp4, faces: faces/a}")
    kind = entry.get("kind")
    if kind not in KINDS:
        fail(f"'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    job_id = str(entry.get("id") or f"{kind}-{n + 1}")
    where = f"job {job_id!r}: "
    merged = {**defaults.get(kind, {}), **entry}
    fields = _stage_fields(kind)
    known = set(COMMON) | set(PATHS[kind]) | set(LABELS[kind]) | fields
    unknown = sorted(k for k in merged if k not in known)
    if unknown:
        hint = "" if kind == "real" else f" (options are the fields of the {kind} stage, with underscores)"
        fail(f"unknown key(s) {', '.join(map(str, unknown))}{hint}")
    missing = [k for k in REQUIRED[kind] if merged.get(k) in (None, "")]
    if missing:
        fail(f"missing {', '.join(missing)}")
    paths: dict[str, str] = {}
    for key in PATHS[kind]:
        value = merged.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            fail(f"{key} must be a path (a string), got {value!r}")
        paths[key] = _absolute(base, value)
    if kind == "extract" and "store" not in paths:  # the stage's default, made explicit for the graph
        from ..store.alignments import default_store_path

        paths["store"] = str(default_store_path(paths["input"]))
    options = {k: v for k, v in merged.items() if k in fields and k not in PATHS[kind]}
    for key in ("filter", "exclude"):
        if key in options:
            refs = options[key] if isinstance(options[key], list) else [options[key]]
            options[key] = [_absolute(base, str(r)) for r in refs]
    labels = {k: str(merged[k]) for k in LABELS[kind] if merged.get(k) is not None}
    _validate_options(kind, paths, options, fail)
    after = merged.get("after") or []
    after = [after] if isinstance(after, str) else after
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        fail("'after' must be a job id or a list of job ids")
    resources = merged.get("resources") or {}
    if not isinstance(resources, dict) or not all(_number(v) and v > 0 for v in resources.values()):
        fail("'resources' must map resource names to positive numbers, e.g. {gpu_node: 1}")
    num_cpus, num_gpus = merged.get("num_cpus", 1), merged.get("num_gpus", 0)
    if not _number(num_cpus) or num_cpus <= 0 or not _number(num_gpus) or num_gpus < 0:
        fail(f"num_cpus must be > 0 and num_gpus >= 0, got {num_cpus!r} and {num_gpus!r}")
    return Job(id=job_id, kind=kind, line=line, paths=paths, options=options, labels=labels, after=list(after),
               num_cpus=float(num_cpus), num_gpus=float(num_gpus),
               resources={str(k): float(v) for k, v in resources.items()})


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _absolute(base: Path, value: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def _validate_options(kind: str, paths: dict, options: dict, fail) -> None:
    """Build the stage's option dataclass: its own checks, with its own messages."""
    from ..errors import TwofaceError

    try:
        if kind == "extract":
            from ..extract import ExtractOptions

            ExtractOptions(**options).validate()
        elif kind == "train":
            from ..train.options import TrainOptions

            if not _number(options.get("iterations")) or int(options["iterations"]) != options["iterations"]:
                fail(f"iterations must be a whole number (the target the model is trained to), "
                     f"got {options.get('iterations')!r}")
            TrainOptions(faces_a=paths["faces_a"], faces_b=paths["faces_b"], model_dir=paths["model"], **options)
        elif kind == "convert":
            from ..convert.options import ConvertOptions

            ConvertOptions(**options)
    except TwofaceError as err:
        fail(err.message)
    except (TypeError, ValueError) as err:
        fail(f"bad option value ({err})")


# --- the graph ---------------------------------------------------------------------------------
def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_graph(path: Path, jobs: list[Job]) -> None:
    """Unique ids and outputs, known ``after`` ids, implied dependencies, inputs that exist, no cycle."""
    seen: dict[str, Job] = {}
    for job in jobs:
        if job.id in seen:
            raise ManifestError(f"job id {job.id!r} is used twice (also on line {seen[job.id].line})", path, job.line)
        seen[job.id] = job
    owners: dict[str, Job] = {}
    for job in jobs:
        for out in job.outputs():
            other = owners.get(out)
            shared_faces = other is not None and other.kind == job.kind == "extract" and \
                out == job.paths.get("faces") == other.paths.get("faces")
            if other is not None and not shared_faces:
                raise ManifestError(f"job {job.id!r}: {out} is also written by job {other.id!r} (line {other.line})",
                                    path, job.line)
            owners.setdefault(out, job)
    for job in jobs:
        for dep in job.after:
            if dep not in seen:
                raise ManifestError(f"job {job.id!r}: 'after' names {dep!r}, which is not a job here", path, job.line)
        for src in job.inputs():
            makers = [o for o in jobs if o is not job and any(_inside(src, out) or _inside(out, src)
                                                              for out in o.outputs())]
            for maker in makers:
                if maker.id not in job.after:
                    job.after.append(maker.id)
            if not makers and not os.path.exists(src):
                raise ManifestError(f"job {job.id!r}: {src} does not exist and no job in the manifest makes it",
                                    path, job.line)
    _topological(path, jobs)


def _topological(path: Path, jobs: list[Job]) -> list[Job]:
    by_id = {j.id: j for j in jobs}
    state: dict[str, int] = {}
    order: list[Job] = []

    def visit(job: Job, trail: list[str]) -> None:
        if state.get(job.id) == 2:
            return
        if state.get(job.id) == 1:
            cycle = trail[trail.index(job.id):] + [job.id]
            raise ManifestError(f"the jobs depend on each other in a circle: {' -> '.join(cycle)}", path, job.line)
        state[job.id] = 1
        for dep in job.after:
            visit(by_id[dep], trail + [job.id])
        state[job.id] = 2
        order.append(job)

    for job in jobs:
        visit(job, [])
    return order
