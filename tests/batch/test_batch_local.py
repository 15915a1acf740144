"""`twoface batch --local 2`: the same manifest (as JSON lines) in a local process pool, with Ray
(and PyYAML) made unimportable, so the local path provably needs neither."""
from __future__ import annotations

import subprocess
import sys

from batch_helpers import by_id, check_dataset, dataset, env, jobs, run_batch, summary, write_manifest

BLOCKER = '''
import sys
class _NoCluster:
    """Behave as if ray and yaml were not installed."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ray", "yaml"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, _NoCluster())
'''


def test_local_pool_without_ray(data_dir, tmp_path):
    blocker = tmp_path / "no_ray"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    probe = subprocess.run([sys.executable, "-c", "import ray"], capture_output=True, text=True,
                           env=env(str(blocker)))
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr

    work = tmp_path / "local"
    manifest = write_manifest(work, jobs(data_dir), fmt="jsonl")
    r = run_batch(manifest, "--local", "2", extra_path=str(blocker))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = summary(manifest)
    assert s["backend"] == "local:2"
    jobs_ = by_id(s)
    assert {j["status"] for j in s["jobs"]} == {"done", "listed"}
    # the two extracts ran at the same time, in the pool's two processes
    e7, e1 = jobs_["ext-g7"], jobs_["ext-g1"]
    assert e7["pid"] != e1["pid"]
    assert e7["started"] < e1["started"] + e1["seconds"] and e1["started"] < e7["started"] + e7["seconds"]
    check_dataset(dataset(manifest), work)

    # YAML needs PyYAML: with it gone, one clear line and exit 2
    yaml_manifest = work / "jobs.yaml"
    yaml_manifest.write_text("jobs: []\n")
    r = run_batch(yaml_manifest, "--local", "1", extra_path=str(blocker))
    assert r.returncode == 3 and "pip install 'twoface[cluster]'" in r.stderr and "Traceback" not in r.stderr
