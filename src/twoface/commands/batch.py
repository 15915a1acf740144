"""Run many extract, train and convert jobs from one manifest, locally or on a Ray cluster.

The manifest (YAML, or JSON lines with one job per line) lists jobs with a kind
(extract, train, convert, real) and the stage's own options; jobs wait for the jobs that
make their inputs (implied by paths) and for those named in `after`. Jobs already complete
(store progress at the end, model at its target iteration, output finalised) are skipped,
so rerunning the same command resumes a batch. A failing job is recorded with its error,
its dependents are skipped, and every other job goes on. The summary (summary.json) and
dataset.jsonl (one line per output video: label, source, identities, model, iteration,
settings, frames, sha256) are written to MANIFEST's folder under <stem>.batch/.

exit code: 0 when every job is complete, 1 when some job failed or stopped short,
2 when the manifest cannot run as written (the message names the file and line).

examples:
  twoface batch jobs.yaml --local 2
  twoface batch jobs.yaml --ray 10.0.0.1:6379          # after `ray start --head` on that node
  twoface batch jobs.jsonl --ray auto --state-dir runs/2026-12-01
"""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("manifest", help="the job list: .yaml/.yml or .jsonl (JSON lines)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--ray", metavar="ADDRESS",
                       help="run on the Ray cluster at ADDRESS (host:port of the head node, or 'auto'); "
                            "needs twoface[cluster]")
    where.add_argument("--local", type=int, metavar="N",
                       help="run on this machine in N worker processes (default: 1; Ray is not needed)")
    p.add_argument("--state-dir", metavar="FOLDER",
                   help="where summary.json, dataset.jsonl and job records go (default: <manifest stem>.batch "
                        "beside the manifest)")
    p.add_argument("--check", action="store_true", help="only read and check the manifest, then list the jobs")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    if args.check:
        from ..batch.manifest import load_manifest

        m = load_manifest(args.manifest)
        for job in m.jobs:
            after = f" after {', '.join(job.after)}" if job.after else ""
            print(f"line {job.line}: {job.kind} {job.id}{after}")
        print(f"{args.manifest}: {len(m.jobs)} jobs, ok")
        return 0
    from ..batch.runner import run_batch

    summary = run_batch(args.manifest, ray=args.ray, local=args.local, state_dir=args.state_dir,
                        say=(lambda text: None) if args.json else print)
    if args.json:
        print(json.dumps(summary.to_json(), indent=1, default=str))
        return 0 if summary.ok else 1
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts().items()))
    print(f"batch: {len(summary.jobs)} jobs in {summary.seconds:.1f} s on {summary.backend}: {counts}")
    for j in summary.jobs:
        if j["status"] == "failed":
            print(f"  failed: {j['kind']} {j['id']} (line {j['line']}): {j.get('error')}")
    print(f"summary: {summary.state_dir}/summary.json; dataset: {summary.dataset} ({summary.dataset_lines} lines)")
    return 0 if summary.ok else 1
