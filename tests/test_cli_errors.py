"""Bad input never ends in a traceback: one line naming the file and the problem, exit code 2,
and existing outputs untouched."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from twoface.store.alignments import SCHEMA_VERSION, AlignmentsStore

CLI = [sys.executable, "-m", "twoface.cli"]


def twoface(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True)


def assert_clean_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_missing_input(tmp_path):
    assert_clean_error(twoface("extract", tmp_path / "nope.mp4", "-o", tmp_path / "f"), "nope.mp4", "no such")


def test_zero_byte_video(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert_clean_error(twoface("extract", tmp_path / "empty.mp4", "-o", tmp_path / "f"), "empty.mp4")


def test_text_file_named_mp4(tmp_path):
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 50)
    assert_clean_error(twoface("extract", tmp_path / "notes.mp4", "-o", tmp_path / "f"), "notes.mp4")


def test_truncated_video(tmp_path, data_dir):
    data = (data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov atom is at the end: unplayable
    res = twoface("extract", tmp_path / "cut.mp4", "-o", tmp_path / "f", "--no-progress")
    assert_clean_error(res, "cut.mp4")


def test_foreign_store_is_refused_and_kept(tmp_path, data_dir):
    foreign = tmp_path / "other.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = foreign.read_bytes()
    res = twoface("extract", data_dir / "convert/no_face_coffee.png", "-o", tmp_path / "f", "--store", foreign)
    assert_clean_error(res, "other.db", "not a twoface alignments store")
    assert foreign.read_bytes() == before


def test_newer_store_is_refused(tmp_path, data_dir):
    path = tmp_path / "new.db"
    AlignmentsStore.open(path, create=True).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    db.commit()
    db.close()
    res = twoface("extract", data_dir / "convert/no_face_coffee.png", "-o", tmp_path / "f", "--store", path)
    assert_clean_error(res, "new.db", "newer")


def test_store_of_another_source_is_refused(tmp_path, data_dir):
    store = tmp_path / "s.db"
    assert twoface("extract", data_dir / "convert/no_face_coffee.png", "-o", tmp_path / "f", "--store", store,
                   "--no-progress").returncode == 0
    res = twoface("extract", data_dir / "convert/two_people_obama_biden.jpg", "-o", tmp_path / "f",
                  "--store", store, "--no-progress")
    assert_clean_error(res, "s.db", "another source")


def test_unwritable_output(data_dir):
    res = twoface("extract", data_dir / "convert/no_face_coffee.png", "-o", "/sys/twoface-test-out")
    assert_clean_error(res, "/sys/twoface-test-out", "permission denied")


def test_full_disk(tmp_path, data_dir):
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tiny tmpfs to fill (needs root): {mounted.stderr.decode().strip()}")
    try:
        (mnt / "filler").write_bytes(b"\0" * 30_000)
        res = twoface("extract", data_dir / "convert/two_people_obama_biden.jpg", "-o", mnt / "faces",
                      "--store", mnt / "s.db", "--no-progress")
        assert_clean_error(res, "space")
    finally:
        subprocess.run(["umount", str(mnt)])


def test_not_a_video_or_image_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    assert_clean_error(twoface("extract", tmp_path / "docs", "-o", tmp_path / "f"), "docs")


@pytest.mark.parametrize("flag, value", [("--size", "0"), ("--coverage", "-1"), ("--every", "0"),
                                         ("--workers", "0"), ("--max-faces", "0"), ("--threshold", "3")])
def test_impossible_extract_options(tmp_path, data_dir, flag, value):
    res = twoface("extract", data_dir / "convert/two_people_obama_biden.jpg", "-o", tmp_path / "f", flag, value)
    assert_clean_error(res, flag)
    assert not (tmp_path / "f").exists()
