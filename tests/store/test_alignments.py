"""The alignments store: schema migrations, refusal of foreign/newer files, crash safety."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from twoface.errors import StoreError
from twoface.store.alignments import SCHEMA_VERSION, AlignmentsStore, FaceRecord, SourceInfo

SRC = SourceInfo(path="/x/clip.mp4", fingerprint="123:abc", frame_count=10, fps=25.0, width=640, height=360,
                 is_video=True)


def face(frame: int, index: int = 0) -> FaceRecord:
    rng = np.random.default_rng(frame * 10 + index)
    return FaceRecord(frame=frame, face=index, bbox=(10.0, 20.0, 100.0, 120.0), score=0.9,
                      landmarks=rng.random((478, 2), dtype=np.float32) * 300, pose=(1.0, -2.0, 3.0),
                      blendshapes=rng.random(52, dtype=np.float32), identity=rng.random(128, dtype=np.float32),
                      blur=12.5)


def test_round_trip(tmp_path):
    path = tmp_path / "a.twoface.db"
    with AlignmentsStore.open(path, create=True) as st:
        st.set_source(SRC)
        st.add_frame(0, [face(0), face(0, 1)], time_s=0.0)
        st.add_frame(1, [], time_s=0.04)
        st.commit()
    with AlignmentsStore.open(path) as st:
        assert st.version == SCHEMA_VERSION
        assert st.source == SRC
        got = list(st.faces())
        assert [(f.frame, f.face) for f in got] == [(0, 0), (0, 1)]
        np.testing.assert_array_equal(got[1].landmarks, face(0, 1).landmarks)
        np.testing.assert_array_equal(got[0].identity, face(0).identity)
        assert got[0].landmarks.shape == (478, 2) and got[0].blur == 12.5
        assert st.frames() == [(0, 0.0, None, 2), (1, 0.04, None, 0)]
        assert st.last_frame() == 1


def test_readding_a_frame_replaces_it(tmp_path):
    with AlignmentsStore.open(tmp_path / "s.db", create=True) as st:
        st.add_frame(3, [face(3), face(3, 1)])
        st.add_frame(3, [face(3)])
        assert st.face_count() == 1


def test_migrates_v1_forward_keeping_data(tmp_path):
    path = tmp_path / "old.twoface.db"
    st = AlignmentsStore.open(path, create=True, upto_version=1)
    assert st.version == 1
    st.set_source(SRC)
    f = face(5)
    st._db.execute("INSERT INTO face (frame, face, x, y, w, h, score, landmarks, scheme, yaw, pitch, roll,"
                   " rotation) VALUES (5, 0, 1, 2, 3, 4, 0.5, ?, '478', 0, 0, 0, 0)", (f.landmarks.tobytes(),))
    st.close()
    with AlignmentsStore.open(path) as st:
        assert st.version == SCHEMA_VERSION
        assert [(r.frame, r.face) for r in st.faces()] == [(5, 0)]
        assert st.frames() == [(5, None, None, 1)]  # v2 back-filled the frame table


def test_refuses_newer_schema(tmp_path):
    path = tmp_path / "new.twoface.db"
    AlignmentsStore.open(path, create=True).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer"):
        AlignmentsStore.open(path)


def test_refuses_foreign_sqlite(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (x TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="foreign") as err:
        AlignmentsStore.open(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"hello, not a database" * 10, os.urandom(4096)])
def test_refuses_non_sqlite(tmp_path, content):
    path = tmp_path / "x.twoface.db"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        AlignmentsStore.open(path)
    assert path.read_bytes() == content  # untouched


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no such"):
        AlignmentsStore.open(tmp_path / "nope.db")


def test_kill_during_writes_leaves_a_valid_store(tmp_path):
    """A writer killed (SIGKILL) mid-transaction leaves a store that opens and passes integrity_check,
    holding exactly the committed frames."""
    path = tmp_path / "k.twoface.db"
    script = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from test_alignments import face, SRC
        from twoface.store.alignments import AlignmentsStore
        st = AlignmentsStore.open({str(path)!r}, create=True)
        st.set_source(SRC)
        for i in range(100000):
            st.add_frame(i, [face(i)])
            if i % 50 == 49:
                st.commit()
                print(i, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    committed = -1
    for line in proc.stdout:
        committed = int(line)
        if committed >= 499:
            break
    proc.kill()
    proc.wait()
    with AlignmentsStore.open(path) as st:
        assert st.integrity_check() == "ok"
        last = st.last_frame()
        assert last >= committed and (last + 1) % 50 == 0  # only whole commits survive
        assert st.face_count() == last + 1
