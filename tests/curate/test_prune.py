"""The curate workflow on real faces: sort by identity, delete a person, prune, undo.

And prune's refusals: each user mistake is one line on stderr and exit code 2.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twoface.curate import compact_ranges, prune
from twoface.faces.measures import frame_position
from twoface.store import AlignmentsStore, list_face_files, read_face_meta

from .conftest import TWO_FACES_WIDTH, tree_hashes, twoface, work_copy


def store_faces(store: Path) -> list:
    with AlignmentsStore.open(store, readonly=True) as db:
        return list(db.faces())


def is_left(meta) -> bool:
    """Person A fills the left half of two_faces_side_by_side.mp4."""
    return frame_position(meta)[0] < TWO_FACES_WIDTH / 2


def test_sort_delete_person_prune_undo(two_faces_extract, tmp_path):
    faces, store = work_copy(two_faces_extract, tmp_path / "w")
    before = tree_hashes(faces)
    a_names = {p.name for p in list_face_files(faces) if is_left(read_face_meta(p))}
    assert 90 <= len(before) <= 100 and 45 <= len(a_names) <= 50
    store_before = len(store_faces(store))

    res = twoface("sort", faces, "--by", "identity")
    assert res.returncode == 0, res.stderr
    clusters = {d.name: list_face_files(d) for d in sorted((faces / "by_identity").iterdir())}
    assert len(clusters) == 2, f"expected A and B, got {[(k, len(v)) for k, v in clusters.items()]}"
    side = {k: {is_left(read_face_meta(p)) for p in v} for k, v in clusters.items()}
    assert sorted(side.values(), key=str) == [{False}, {True}], "a cluster mixes the two people"
    b_folder = next(k for k, v in side.items() if v == {False})
    b_count = len(clusters[b_folder])

    shutil.rmtree(faces / "by_identity" / b_folder)  # the user deletes person B

    dry = twoface("prune", "--store", store, "--faces", faces, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {b_count}" in dry.stdout
    assert len(store_faces(store)) == store_before, "--dry-run changed the store"

    res = twoface("prune", "--store", store, "--faces", faces)
    assert res.returncode == 0, res.stderr
    assert f"kept {store_before - b_count} faces, removed {b_count}" in res.stdout
    assert "now have no face" not in res.stdout  # A is in every frame B was

    res = twoface("sort", faces, "--undo")
    assert res.returncode == 0, res.stderr
    assert f"{b_count} files were deleted since the sort" in res.stdout

    # the store has only A's faces: every row sits in the left half of the frame
    rows = store_faces(store)
    assert len(rows) == len(a_names)
    assert all(r.bbox[0] + r.bbox[2] / 2 < TWO_FACES_WIDTH / 2 for r in rows)
    # A's files are back under their original names, byte for byte; nothing else exists
    after = tree_hashes(faces)
    assert after == {k: v for k, v in before.items() if k in a_names}
    assert not (faces / "by_identity").exists() and not (faces / ".twoface-sort-journal.json").exists()


def test_prune_reports_frames_left_without_faces(two_faces_extract, tmp_path):
    faces, store = work_copy(two_faces_extract, tmp_path / "w")
    gone = [p for p in list_face_files(faces) if read_face_meta(p).frame in (3, 4, 5, 9)]
    assert {read_face_meta(p).frame for p in gone} == {3, 4, 5, 9}
    for p in gone:
        p.unlink()
    report = prune(store, [faces])
    assert report.removed == len(gone) and report.empty_frames == [3, 4, 5, 9]
    assert report.empty_ranges == "3-5, 9"
    with AlignmentsStore.open(store, readonly=True) as db:
        counts = {f: n for f, _, _, n in db.frames()}
    assert counts[3] == counts[9] == 0 and counts[2] > 0 and counts[6] > 0
    # a second prune finds nothing more to do
    again = prune(store, [faces])
    assert again.removed == 0 and again.kept == report.kept


def test_compact_ranges():
    assert compact_ranges([9, 1, 2, 3, 7, 10, 2]) == "1-3, 7, 9-10"
    assert compact_ranges([]) == ""


def test_prune_counts_faces_in_sorted_subfolders_and_several_folders(two_faces_extract, tmp_path):
    faces, store = work_copy(two_faces_extract, tmp_path / "w")
    files = list_face_files(faces)
    half = faces / "deep" / "er"
    half.mkdir(parents=True)
    other = tmp_path / "other"
    other.mkdir()
    for i, p in enumerate(files):
        p.rename((half if i % 2 else other) / f"renamed_{i}.png")
    report = prune(store, [faces, other], dry_run=False)
    assert report.removed == 0 and report.kept == len(files)


@pytest.fixture()
def workflow_dirs(two_faces_extract, grid_extract, tmp_path):
    faces, store = work_copy(two_faces_extract, tmp_path / "w")
    grid_store = tmp_path / "grid.twoface.db"
    shutil.copy2(sorted((grid_extract / "stores").glob("*.twoface.db"))[0], grid_store)
    return faces, store, grid_store


def one_line_error(res, *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_prune_refuses_bad_inputs(workflow_dirs, tmp_path, cli):
    twoface = cli
    faces, store, grid_store = workflow_dirs
    store_rows = len(store_faces(store))
    # a store of another source: the face folder holds none of its faces
    one_line_error(twoface("prune", "--store", grid_store, "--faces", faces), "another source",
                   "two_faces_side_by_side")
    # not a store at all: a face PNG, a text file, a folder
    png = list_face_files(faces)[0]
    one_line_error(twoface("prune", "--store", png, "--faces", faces), "not a twoface alignments store")
    text = tmp_path / "notes.db"
    text.write_text("hello")
    one_line_error(twoface("prune", "--store", text, "--faces", faces), "not a twoface alignments store")
    one_line_error(twoface("prune", "--store", faces, "--faces", faces), "is a folder")
    one_line_error(twoface("prune", "--store", tmp_path / "nope.db", "--faces", faces), "no such alignments store")
    # missing and empty face folders
    one_line_error(twoface("prune", "--store", store, "--faces", tmp_path / "missing"), "no such folder")
    (tmp_path / "empty").mkdir()
    one_line_error(twoface("prune", "--store", store, "--faces", tmp_path / "empty"), "no face images")
    # a folder of plain images is not a face folder
    (tmp_path / "plain").mkdir()
    import cv2

    cv2.imwrite(str(tmp_path / "plain" / "x.png"), cv2.imread(str(png)))
    one_line_error(twoface("prune", "--store", store, "--faces", tmp_path / "plain"), "no face images",
                   "without twoface metadata")
    assert len(store_faces(store)) == store_rows, "a refused prune changed the store"
