"""`twoface extract` on the real dev clips: what issue 2 says it must show, checked as a user would."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from twoface.store import AlignmentsStore, list_face_files, read_face, read_face_meta
from twoface_testing import cached_extract

CLI = [sys.executable, "-m", "twoface.cli"]


def twoface(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, **kw)


def store_of(out: Path) -> AlignmentsStore:
    return AlignmentsStore.open(next((out / "stores").glob("*.db")), readonly=True)


def per_frame_counts(store: AlignmentsStore) -> list[int]:
    return [n for *_, n in store.frames()]


TRAIN_CLIPS = ["person_a_pexels_woman/WolfgangLanger_Pexels.mp4"] + [
    f"person_b_cremad_actor1001/1001_DFA_{e}_XX.flv" for e in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")]


@pytest.mark.parametrize("clip", TRAIN_CLIPS)
def test_training_clips_give_one_aligned_face_per_frame(data_dir, shared_cache, clip):
    out = cached_extract(shared_cache, data_dir / "train" / clip, every=2, size=128)
    with store_of(out) as st:
        counts = per_frame_counts(st)
    assert len(counts) >= 28
    share = sum(c == 1 for c in counts) / len(counts)
    assert share >= 0.95, f"{clip}: exactly one face in only {share:.0%} of frames"
    # aligned: in every crop the eyes are level and at the same place (same scale)
    eyes = []
    for path in list_face_files(out / "faces"):
        meta = read_face_meta(path)
        pts = meta.landmarks_array()
        right, left = pts[[33, 133]].mean(0), pts[[362, 263]].mean(0)  # eye corners of the mesh
        eyes.append(np.concatenate([right, left]))
    eyes = np.array(eyes)
    roll = np.degrees(np.arctan2(eyes[:, 3] - eyes[:, 1], eyes[:, 2] - eyes[:, 0]))
    assert np.median(np.abs(roll)) < 2.0 and np.percentile(np.abs(roll), 95) < 5.0, \
        f"eyes are not level in the aligned crops (median {np.median(np.abs(roll)):.1f} deg)"
    spread = eyes.std(0) / 128
    assert spread.max() < 0.04, f"eye positions move between crops: {spread}"


def test_two_faces_side_by_side(data_dir, shared_cache):
    out = cached_extract(shared_cache, data_dir / "convert/two_faces_side_by_side.mp4", size=96)
    with store_of(out) as st:
        counts = per_frame_counts(st)
        faces = list(st.faces())
    assert len(counts) == 50
    assert sum(c == 2 for c in counts) / len(counts) >= 0.95
    # face 0 is the left person (A), face 1 the right one (B)
    assert all((f.bbox[0] < 360) == (f.face == 0) for f in faces)


def test_rotated_90_with_rotate(data_dir, tmp_path):
    clip = data_dir / "convert/rotated_90cw_cremad.mp4"
    res = twoface("extract", clip, "-o", tmp_path / "faces", "--store", tmp_path / "r.db", "--rotate", "90,270",
                  "--size", "96", "--no-progress")
    assert res.returncode == 0, res.stderr
    with AlignmentsStore.open(tmp_path / "r.db", readonly=True) as st:
        counts = per_frame_counts(st)
        faces = list(st.faces())
        src = st.source
    assert src.width == 360 and src.height == 480
    assert sum(c >= 1 for c in counts) / len(counts) >= 0.90
    for f in faces:
        x, y, w, h = f.bbox
        eyes = f.landmarks[[33, 133, 362, 263]]
        assert (eyes[:, 0] > x).all() and (eyes[:, 0] < x + w).all(), "eye landmarks outside the face box"
        assert (eyes[:, 1] > y).all() and (eyes[:, 1] < y + h).all()
        assert 0 <= eyes[:, 0].min() and eyes[:, 0].max() < 360 and eyes[:, 1].max() < 480
        # rotated 90° clockwise: the eye line runs top to bottom in the frame
        assert abs(abs(f.pose[2]) - 90) < 25, f"roll {f.pose[2]}"
        assert f.rotation in (90, 270)


@pytest.mark.parametrize("name", ["no_face_caminandes.mp4", "no_face_coffee.png"])
def test_no_face_inputs(data_dir, tmp_path, name):
    res = twoface("extract", data_dir / "convert" / name, "-o", tmp_path / "faces", "--store", tmp_path / "n.db",
                  "--no-progress")
    assert res.returncode == 0, res.stderr
    with AlignmentsStore.open(tmp_path / "n.db", readonly=True) as st:
        n = st.face_count()
    assert n <= 1
    if n == 0:
        assert "no faces were found" in res.stderr


def test_grid_identities_separate(data_dir, shared_cache):
    clips = sorted((data_dir / "multi_identity/grid").glob("*.mpg"))
    assert len(clips) == 11
    out = cached_extract(shared_cache, clips, every=5, size=96)
    speaker = {"pwij3p": "G7", "id2_vcd_swwp2s": "G7"}
    embs, who = [], []
    for path in list_face_files(out / "faces"):
        meta = read_face_meta(path)
        stem = Path(meta.source_path).stem
        embs.append(meta.identity_array())
        who.append(speaker.get(stem, stem))
    embs = np.array(embs)
    assert len(set(who)) == 10
    sims = embs @ embs.T
    same = np.equal.outer(np.array(who), np.array(who))
    # for each pair (i same as j, i different from k) the same-speaker similarity must win
    wins = total = 0
    for i in range(len(who)):
        s_same = sims[i][same[i] & (np.arange(len(who)) != i)]
        s_diff = sims[i][~same[i]]
        wins += (s_same[:, None] > s_diff[None, :]).sum()
        total += s_same.size * s_diff.size
    assert wins / total >= 0.99, f"same > different for only {wins / total:.2%} of pairs"
    g7 = [i for i, (p, w) in enumerate(zip(list_face_files(out / "faces"), who)) if w == "G7"]
    a = [i for i in g7 if "pwij3p" in list_face_files(out / "faces")[i].name]
    b = [i for i in g7 if "swwp2s" in list_face_files(out / "faces")[i].name]
    assert a and b and sims[np.ix_(a, b)].mean() > 0.5


def test_filter_keeps_only_reference_person(data_dir, shared_cache, tmp_path):
    both = cached_extract(shared_cache, data_dir / "convert/two_faces_side_by_side.mp4", size=96)
    ref = next(p for p in list_face_files(both / "faces") if p.name.endswith("_0.png"))  # left person = A
    res = twoface("extract", data_dir / "convert/two_faces_side_by_side.mp4", "-o", tmp_path / "a",
                  "--store", tmp_path / "a.db", "--filter", ref, "--size", "96", "--no-progress")
    assert res.returncode == 0, res.stderr
    with AlignmentsStore.open(tmp_path / "a.db", readonly=True) as st:
        faces = list(st.faces())
    assert len(faces) >= 45
    assert all(f.bbox[0] + f.bbox[2] / 2 < 360 for f in faces), "a face of the other person was kept"


def test_kill_and_resume_gives_the_same_faces(data_dir, shared_cache, tmp_path):
    clip = data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"
    reference = cached_extract(shared_cache, clip, every=2, size=128)
    with store_of(reference) as st:
        expected = st.face_count()
    store = tmp_path / "k.twoface.db"
    args = [*CLI, "extract", str(clip), "-o", str(tmp_path / "faces"), "--store", str(store), "--every", "2",
            "--size", "128", "--no-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait until about half the clip is committed, then kill -9
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if store.exists():
            try:
                with AlignmentsStore.open(store, readonly=True) as st:
                    if st.last_frame() >= 200:
                        break
            except Exception:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with AlignmentsStore.open(store) as st:
        assert st.integrity_check() == "ok"
        stopped = st.last_frame()
    assert 0 < stopped < 470, "the run was not interrupted halfway"
    res = twoface(*args[3:])
    assert res.returncode == 0, res.stderr
    assert "resumed at frame" in res.stderr
    with AlignmentsStore.open(store) as st:
        assert st.integrity_check() == "ok"
        assert st.face_count() == expected
        keys = [(f.frame, f.face) for f in st.faces()]
    assert len(keys) == len(set(keys))
    assert len(list_face_files(tmp_path / "faces")) == expected


def test_exclude_drops_the_reference_person_and_debug_overlays(data_dir, shared_cache, tmp_path):
    both = cached_extract(shared_cache, data_dir / "convert/two_faces_side_by_side.mp4", size=96)
    ref_a = next(p for p in list_face_files(both / "faces") if p.name.endswith("_0.png"))
    res = twoface("extract", data_dir / "convert/two_faces_side_by_side.mp4", "-o", tmp_path / "b",
                  "--store", tmp_path / "b.db", "--exclude", ref_a, "--size", "96", "--every", "5",
                  "--debug-landmarks", tmp_path / "debug", "--no-progress")
    assert res.returncode == 0, res.stderr
    with AlignmentsStore.open(tmp_path / "b.db", readonly=True) as st:
        faces = list(st.faces())
    assert len(faces) >= 9 and all(f.bbox[0] > 360 for f in faces), "person A was not excluded"
    overlays = sorted((tmp_path / "debug").glob("*.jpg"))
    assert len(overlays) == len({f.frame for f in faces})
    import cv2

    img = cv2.imread(str(overlays[0]))
    assert img.shape == (360, 720, 3)


def test_python_api_matches_the_cli(data_dir, tmp_path):
    import twoface

    result = twoface.extract(data_dir / "convert/two_people_obama_biden.jpg", tmp_path / "faces",
                             store=tmp_path / "s.db", size=64, progress=False)
    assert result.faces == 2 and result.total_frames == 1
    image, meta = read_face(list_face_files(tmp_path / "faces")[0])
    assert image.shape == (64, 64, 3) and meta.size == 64 and len(meta.landmarks) == 478
    assert set(meta.masks) == {"extended", "components"} and len(meta.identity) == 128
