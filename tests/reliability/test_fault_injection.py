"""kill -9 at seeded random moments during extract, train and convert, then a rerun: the final
outputs equal those of an uninterrupted run (faces and their keys; iteration and weights; frames,
timestamps and audio). Slow-marked, but it runs in CI like every slow test."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from reliab_helpers import record_cases, tiny_train_kwargs

pytestmark = pytest.mark.slow
ZYGOTE = Path(__file__).with_name("fault_zygote.py")
SEED = int(os.environ.get("TWOFACE_FAULT_SEED", "9"))


def run_plan(tmp_path: Path, stage: str, reference: dict, subject: dict, reset: list, kills: int) -> dict:
    plan = tmp_path / f"{stage}-plan.json"
    plan.write_text(json.dumps({"stage": stage, "reference": reference, "subject": subject,
                                "reset": [str(p) for p in reset], "kills": kills, "seed": SEED}, default=str))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run([sys.executable, str(ZYGOTE), str(plan)], capture_output=True, text=True, env=env,
                         timeout=1200)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert "error" not in out, (out, res.stderr[-2000:])
    assert out["kills"] == kills, out
    record_cases(f"kill -9 during {stage}", out["kills"])
    out["cpu_seconds"] = round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
    print(f"{stage}: {out}")
    return out


def _store_rows(path: Path) -> list:
    from twoface.store.alignments import AlignmentsStore

    with AlignmentsStore.open(path, readonly=True) as db:
        faces = [(f.frame, f.face, f.landmarks.tobytes(), None if f.identity is None else f.identity.tobytes())
                 for f in db.faces()]
        return [faces, db.frames(), db.last_frame()]


def test_extract_survives_kills(small_faces, tmp_path):
    from twoface.store.metadata import list_face_files, read_face_meta

    clip = small_faces["a_clip"]
    opts = {"every": 4, "size": 64, "progress": False, "workers": 2, "commit_every": 0.2}
    ref = {"input": clip, "faces_dir": tmp_path / "ref", "store": tmp_path / "ref.db", **opts}
    sub = {"input": clip, "faces_dir": tmp_path / "sub", "store": tmp_path / "sub.db", **opts}
    run_plan(tmp_path, "extract", ref, sub, [tmp_path / "sub", tmp_path / "sub.db", tmp_path / "sub.db-wal",
                                             tmp_path / "sub.db-shm"], kills=8)
    ref_faces = {p.name: read_face_meta(p).key for p in list_face_files(tmp_path / "ref")}
    sub_faces = {p.name: read_face_meta(p).key for p in list_face_files(tmp_path / "sub")}
    assert len(ref_faces) >= 15 and sub_faces == ref_faces
    assert _store_rows(tmp_path / "sub.db") == _store_rows(tmp_path / "ref.db")


def test_train_survives_kills(small_faces, tmp_path):
    from safetensors.torch import load_file

    from twoface.train import checkpoint as ck

    kw = tiny_train_kwargs(iterations=12, save_every=2)
    base = {"faces_a": small_faces["a"], "faces_b": small_faces["b"], **kw}
    run_plan(tmp_path, "train", {**base, "model_dir": tmp_path / "ref"}, {**base, "model_dir": tmp_path / "sub"},
             [tmp_path / "sub"], kills=7)
    for m in ("ref", "sub"):
        assert ck.find_checkpoint(tmp_path / m).iteration == 12
        ck.load_model(tmp_path / m)
    a, b = load_file(str(tmp_path / "ref" / ck.WEIGHTS)), load_file(str(tmp_path / "sub" / ck.WEIGHTS))
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a), "resume after kills is exact"
    assert not list((tmp_path / "sub").glob("*.tmp"))


def _video_facts(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts for f in c.decode(v)]
    with av.open(str(path)) as c:
        audio = [(p.pts, p.size) for s in c.streams.audio for p in c.demux(s) if p.size]
    return {"frames": len(pts), "pts": pts, "audio_packets": len(audio), "audio": audio}


def test_convert_survives_kills(small_faces, tiny_model, tmp_path):
    store = small_faces["a_store"]
    opts = {"store": store, "progress": False, "batch_size": 4}
    clip = small_faces["a_clip"]
    ref = {"input": clip, "model": tiny_model, "output": tmp_path / "ref.mp4", **opts}
    sub = {"input": clip, "model": tiny_model, "output": tmp_path / "sub.mp4", **opts}
    run_plan(tmp_path, "convert", ref, sub, [tmp_path / "sub.mp4", tmp_path / "sub.mp4.parts"], kills=7)
    ref_facts, sub_facts = _video_facts(tmp_path / "ref.mp4"), _video_facts(tmp_path / "sub.mp4")
    assert ref_facts["frames"] == 75 and ref_facts["audio_packets"] > 0
    assert sub_facts == ref_facts
