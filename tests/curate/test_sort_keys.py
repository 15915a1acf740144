"""Ranked sort keys (blur, pose, size, colour, similarity), bins, dry runs, and the undo journal."""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.curate import sort_faces
from twoface.errors import InputError, OutputError
from twoface.faces.measures import source_size
from twoface.store import list_face_files, read_face, read_face_meta, write_face_png

from .conftest import tree_hashes, twoface

JOURNAL = ".twoface-sort-journal.json"


def subset(extracted: Path, dest: Path, stems: tuple[str, ...]) -> Path:
    """Copy the faces of some GRID clips (by file-name stem) into a fresh folder."""
    dest.mkdir(parents=True)
    for p in list_face_files(extracted / "faces"):
        if p.name.startswith(stems):
            shutil.copy2(p, dest / p.name)
    return dest


def ranked(folder: Path) -> list[str]:
    """Original names of the faces in rank order (names are '<rank>_<original>')."""
    names = sorted(p.name for p in folder.glob("*.png"))
    return [n.split("_", 1)[1] for n in names]


def rewrite_pixels(path: Path, fn) -> None:
    """Change a face's pixels, keeping its metadata as it was (stored blur score included)."""
    image, meta = read_face(path)
    write_face_png(path, fn(image), meta)


def test_blur_puts_blurred_faces_first(grid_extract, tmp_path):
    faces = subset(grid_extract, tmp_path / "f", ("bbaf2n", "brbk7n"))
    files = sorted(faces.glob("*.png"))
    assert len(files) == 30
    blurred = {files[i].name for i in (1, 8, 14, 20, 27)}
    stored = {}
    for name in blurred:
        stored[name] = read_face_meta(faces / name).blur
        rewrite_pixels(faces / name, lambda im: cv2.GaussianBlur(im, (0, 0), 1.5))
    # the stored score is stale on purpose: sort must measure the pixels
    assert all(read_face_meta(faces / n).blur == stored[n] for n in blurred)

    res = twoface("sort", faces, "--by", "blur")
    assert res.returncode == 0, res.stderr
    order = ranked(faces)
    assert set(order[:5]) == blurred, order[:8]

    sort_faces(faces, undo=True)
    result = sort_faces(faces, by="blur", bins=6)
    assert {p.name for p in (faces / "by_blur" / "00").iterdir()} == blurred
    assert [g.count for g in result.groups] == [5] * 6
    assert all(a.high <= b.low for a, b in zip(result.groups, result.groups[1:]))


def test_color_puts_dark_faces_first_and_yaw_follows_pose(grid_extract, tmp_path):
    faces = subset(grid_extract, tmp_path / "f", ("lbax4n", "lbbc2a"))
    files = sorted(faces.glob("*.png"))
    dark = {files[i].name for i in (3, 17, 22)}
    for name in dark:
        rewrite_pixels(faces / name, lambda im: (im * 0.45).astype(np.uint8))
    sort_faces(faces, by="color")
    assert set(ranked(faces)[:3]) == dark
    sort_faces(faces, undo=True)

    result = sort_faces(faces, by="yaw", bins=3)
    yaw = {g.name: [read_face_meta(p).pose[0] for p in (faces / "by_yaw" / g.name).iterdir()]
           for g in result.groups}
    assert max(yaw["00"]) <= min(yaw["01"]) and max(yaw["01"]) <= min(yaw["02"])
    # re-sorting by another key replaces the layout (names rebuilt from the originals)
    sort_faces(faces, by="roll")
    rolls = [read_face_meta(faces / f"{i:04d}_{n}").pose[2] for i, n in enumerate(ranked(faces))]
    assert rolls == sorted(rolls) and not (faces / "by_yaw").exists()
    assert len(json.loads((faces / JOURNAL).read_text())["entries"]) == 2


def test_size_puts_small_faces_first(grid_extract, faces_a, tmp_path):
    # GRID faces are about 150 px in their frames, person A's (Pexels clip) about 250 px
    faces = subset(grid_extract, tmp_path / "f", ("lrwp9a",))  # the largest GRID speaker
    big = sorted(list_face_files(faces_a))[::8][:8]
    for p in big:
        shutil.copy2(p, faces / p.name)
    result = sort_faces(faces, by="size")
    order = ranked(faces)
    assert {n for n in order[-8:]} == {p.name for p in big}, order
    sizes = [source_size(read_face_meta(faces / f"{i:04d}_{n}")) for i, n in enumerate(order)]
    assert sizes == sorted(sizes) and result.groups[0].low == pytest.approx(sizes[0])
    assert 100 < sizes[0] < sizes[-1] < 1000


def test_similarity_surfaces_strangers(grid_extract, tmp_path):
    faces = subset(grid_extract, tmp_path / "f", ("sbia1a",))
    strangers = sorted(p for p in list_face_files(grid_extract / "faces") if p.name.startswith("lwbsza"))[:3]
    for p in strangers:
        shutil.copy2(p, faces / p.name)
    sort_faces(faces, by="similarity")  # to the folder's average face
    assert set(ranked(faces)[:3]) == {p.name for p in strangers}
    sort_faces(faces, undo=True)
    # with a reference face of the stranger, the stranger comes last
    ref = sorted(p for p in list_face_files(grid_extract / "faces") if p.name.startswith("lwbsza"))[-1]
    sort_faces(faces, by="similarity", reference=ref)
    assert set(ranked(faces)[-3:]) == {p.name for p in strangers}


def test_dry_run_moves_nothing_and_other_pngs_stay(grid_extract, tmp_path):
    faces = subset(grid_extract, tmp_path / "f", ("pwij3p",))
    cv2.imwrite(str(faces / "holiday.png"), np.full((20, 20, 3), 128, np.uint8))
    before = tree_hashes(faces)
    res = twoface("sort", faces, "--by", "pitch", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "dry run: would move 15 files" in res.stdout and " -> 0000_pwij3p_" in res.stdout
    assert "1 PNGs without twoface metadata" in res.stderr
    assert tree_hashes(faces) == before
    res = twoface("sort", faces, "--by", "pitch")
    assert res.returncode == 0 and (faces / "holiday.png").exists()
    # the same sort again has nothing to do
    again = sort_faces(faces, by="pitch")
    assert again.moves == [] and again.unchanged == 15
    sort_faces(faces, undo=True)
    assert tree_hashes(faces) == before


def test_stacked_sorts_undo_in_order(grid_extract, tmp_path):
    faces = subset(grid_extract, tmp_path / "f", ("bbaf2n", "id2_vcd", "pwij3p"))
    (faces / "keep").mkdir()
    for p in sorted(faces.glob("bbaf2n*"))[:4]:  # the user's own subfolder
        p.rename(faces / "keep" / p.name)
    original = tree_hashes(faces)
    sort_faces(faces, by="blur")
    after_blur = tree_hashes(faces)
    sort_faces(faces, by="identity")
    assert len(list((faces / "by_identity").iterdir())) == 2
    assert (faces / "keep").is_dir() and not any((faces / "keep").iterdir())  # the user's folder is never removed
    sort_faces(faces, by="size", bins=2)
    r = sort_faces(faces, undo=True)
    assert r.undo.remaining == 2
    r = sort_faces(faces, undo=True)
    assert r.undo.by == "identity" and r.undo.remaining == 1
    assert {k: v for k, v in tree_hashes(faces).items() if k != JOURNAL} == \
           {k: v for k, v in after_blur.items() if k != JOURNAL}
    sort_faces(faces, undo=True)
    assert tree_hashes(faces) == original
    with pytest.raises(InputError, match="nothing to undo"):
        sort_faces(faces, undo=True)


def test_interrupted_sort_is_undone(grid_extract, tmp_path, monkeypatch):
    faces = subset(grid_extract, tmp_path / "f", ("lbbc2a",))
    before = tree_hashes(faces)
    real_rename = os.rename
    calls = []

    def rename_until_disk_full(src, dst):
        calls.append(src)
        if len(calls) > 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_until_disk_full)
    with pytest.raises(OutputError, match="no space left"):
        sort_faces(faces, by="blur")
    monkeypatch.setattr(os, "rename", real_rename)
    assert json.loads((faces / JOURNAL).read_text())["entries"][0]["status"] == "pending"
    res = twoface("sort", faces, "--by", "yaw")
    assert res.returncode == 2 and "interrupted" in res.stderr and "--undo" in res.stderr
    r = sort_faces(faces, undo=True)
    assert r.undo.restored == 4 and r.undo.unmoved == 11 and not r.undo.missing
    assert tree_hashes(faces) == before


def one_line_error(res, needle: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr


def test_sort_refuses_bad_inputs(grid_extract, tmp_path, cli):
    twoface = cli
    faces = subset(grid_extract, tmp_path / "f", ("swiz3n",))
    one_line_error(twoface("sort", tmp_path / "missing"), "no such folder")
    (tmp_path / "empty").mkdir()
    one_line_error(twoface("sort", tmp_path / "empty", "--by", "blur"), "no face images")
    one_line_error(twoface("sort", next(faces.iterdir())), "is not a folder")
    one_line_error(twoface("sort", faces, "--by", "identity", "--bins", "3"), "--bins does not apply")
    one_line_error(twoface("sort", faces, "--by", "blur", "--bins", "0"), "--bins must be 1 or more")
    one_line_error(twoface("sort", faces, "--by", "blur", "--reference", tmp_path), "--reference only applies")
    one_line_error(twoface("sort", faces, "--by", "similarity", "--reference", tmp_path / "x.jpg"),
                   "no such reference")
    one_line_error(twoface("sort", faces, "--undo"), "nothing to undo")
    one_line_error(twoface("sort", faces, "--threshold", "3"), "--threshold")
    (faces / JOURNAL).write_text("{not json")
    one_line_error(twoface("sort", faces, "--by", "blur"), "damaged sort journal")
