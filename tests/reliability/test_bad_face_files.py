"""Every hostile face PNG of issue 9 is refused cleanly (exit 2, one line naming file and problem),
and a folder holding one is still a folder: sort, prune, train and extract skip it and go on."""
from __future__ import annotations

import json
import logging
import math
import shutil
import time

import pytest
from reliab_helpers import assert_refused, bomb_png, meta_json, run_cli, tree_hashes, with_meta, with_meta_text, zlib_bomb

from twoface.errors import InputError
from twoface.store.metadata import read_face, read_face_meta


def _deep(n: int = 100_000) -> str:
    return "[" * n + "]" * n


def _case(face_png, field, value):
    """The face with one field replaced; a ``RAW:`` string goes in as JSON text (e.g. 1e999)."""
    meta = meta_json(face_png)
    if isinstance(value, str) and value.startswith("RAW:"):
        meta[field] = "__RAW__"
        return with_meta_text(face_png, json.dumps(meta).replace('"__RAW__"', value[4:]).encode())
    meta[field] = value
    return with_meta(face_png, meta)


BAD_META = {
    "identity-string": ("identity", "not a vector", "'identity'"),
    "pose-string": ("pose", "yaw 10", "'pose'"),
    "landmarks-5x3": ("landmarks", [[1.0, 2.0, 3.0]] * 5, "'landmarks'"),
    "matrix-2x2": ("matrix", [[1.0, 0.0], [0.0, 1.0]], "'matrix'"),
    "pose-nan": ("pose", [float("nan"), 0.0, 0.0], "not valid JSON"),  # json.dumps writes NaN
    "landmarks-1e999": ("landmarks", "RAW:" + json.dumps([[1.0, 1.0]] * 477 + [["1e999", 1.0]]).replace('"1e999"', "1e999"),
                        "'landmarks' holds a value that is not a finite number"),
    "pose-1e999": ("pose", "RAW:[1e999, 0, 0]", "'pose' holds a value that is not a finite number"),
    "coverage-nan": ("coverage", float("nan"), "not valid JSON"),
    "size-huge": ("size", 10**30, "'size'"),
}


@pytest.mark.parametrize("case", sorted(BAD_META))
def test_bad_metadata_fields(case, face_png, tmp_path, capfd):
    field, value, needle = BAD_META[case]
    bad = tmp_path / f"{case}.png"
    bad.write_bytes(_case(face_png, field, value))
    before = tree_hashes(tmp_path)
    assert_refused(run_cli(capfd, "inspect", bad), bad, needle)
    assert tree_hashes(tmp_path) == before


def test_deep_nesting_and_zlib_bomb_and_truncation(face_png, tmp_path, capfd):
    deep = tmp_path / "deep.png"
    meta = meta_json(face_png)
    deep.write_bytes(with_meta_text(face_png, json.dumps(meta)[:-1].encode() + b', "x": ' + _deep().encode() + b"}"))
    bomb = tmp_path / "zbomb.png"
    bomb.write_bytes(zlib_bomb(face_png, inflated_mb=40))
    cut = tmp_path / "cut.png"
    cut.write_bytes(face_png[: len(face_png) // 2])
    before = tree_hashes(tmp_path)
    assert_refused(run_cli(capfd, "inspect", deep), deep, "nested too deeply")
    t0 = time.monotonic()
    assert_refused(run_cli(capfd, "inspect", bomb), bomb, "inflates to more than")
    assert time.monotonic() - t0 < 5, "the bounded inflate stops at its limit"
    line = assert_refused(run_cli(capfd, "inspect", cut), cut, "damaged PNG: truncated")
    assert "no twoface metadata" not in line
    assert tree_hashes(tmp_path) == before


def test_png_bomb_is_refused_before_decoding(face_png, tmp_path, capfd):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png(60000, 60000))
    face_bomb = tmp_path / "face_bomb.png"  # a bomb that also carries valid face metadata
    face_bomb.write_bytes(with_meta(bomb_png(60000, 60000), meta_json(face_png)))
    for p in (bomb, face_bomb):
        assert_refused(run_cli(capfd, "inspect", p), p, "60000x60000")
    with pytest.raises(InputError, match="60000x60000"):
        read_face(face_bomb)


def _folder(small_faces, tmp_path, n=10):
    folder = tmp_path / "faces"
    folder.mkdir()
    for p in sorted(small_faces["a"].glob("*.png"))[:n]:
        shutil.copy(p, folder / p.name)
    return folder


def test_sort_skips_and_names_bad_files(small_faces, face_png, tmp_path, capfd, caplog):
    folder = _folder(small_faces, tmp_path)
    (folder / "zz_nan_pose.png").write_bytes(_case(face_png, "pose", [float("nan"), 0, 0]))
    (folder / "zz_bomb.png").write_bytes(with_meta(bomb_png(), meta_json(face_png)))
    (folder / "zz_cut.png").write_bytes(face_png[:3000])
    import cv2

    cv2.imwrite(str(folder / "zz_plain.png"), cv2.imread(str(sorted(folder.glob("*.png"))[0])))
    bad = tree_hashes(*(folder / n for n in ("zz_nan_pose.png", "zz_bomb.png", "zz_cut.png", "zz_plain.png")))
    with caplog.at_level(logging.WARNING):
        code, out, err = run_cli(capfd, "sort", folder, "--by", "yaw", "--bins", "2")
    assert code == 0, err
    assert "nan" not in out.lower()
    assert "1 PNGs without twoface metadata were left alone: zz_plain.png" in err
    assert "3 damaged PNGs were skipped and left alone: zz_bomb.png, zz_cut.png, zz_nan_pose.png" in err
    warned = [ln for ln in err.splitlines() if ln.endswith("; skipped")]  # the CLI's warning lines
    for name in ("zz_nan_pose.png", "zz_bomb.png", "zz_cut.png"):
        assert sum(name in w for w in warned) == 1, (name, err)
    assert tree_hashes(*bad) == bad  # skipped files stay where they are, unchanged
    assert len(list(folder.rglob("*.png"))) == 14


def test_prune_names_files_and_keeps_rows_of_damaged_faces(small_faces, tmp_path, capfd):
    folder = _folder(small_faces, tmp_path, n=25)
    store = tmp_path / "a.db"
    shutil.copy(small_faces["a_store"], store)
    victim = sorted(folder.glob("*.png"))[3]
    victim.write_bytes(victim.read_bytes()[:2000])  # damaged, not deleted
    code, out, err = run_cli(capfd, "prune", "--store", store, "--faces", folder, "--dry-run")
    assert code == 0, err
    assert "would remove 0" in out, out
    assert f"1 damaged PNGs were skipped: {victim.name}" in err


def test_train_skips_a_damaged_face(small_faces, face_png, tmp_path, caplog):
    from twoface.data import FaceSet

    folder = _folder(small_faces, tmp_path)
    (folder / "zz_bomb.png").write_bytes(with_meta(bomb_png(), meta_json(face_png)))
    (folder / "zz_inf.png").write_bytes(_case(face_png, "pose", "RAW:[1e999, 0, 0]"))
    with caplog.at_level(logging.WARNING):
        fs = FaceSet(folder, 64)
    assert len(fs) == 10 and not any("zz_" in p.name for p in fs.files)
    assert {p.name for p, _ in fs.skipped} == {"zz_bomb.png", "zz_inf.png"}
    assert "2 damaged file(s) skipped" in fs.describe()
    assert bool(fs.landmarks.isfinite().all())


def test_extract_folder_with_bad_images_keeps_the_good_ones(data_dir, tmp_path, capfd, caplog):
    images = tmp_path / "photos"
    images.mkdir()
    shutil.copy(data_dir / "convert/two_people_obama_biden.jpg", images / "a_people.jpg")
    (images / "b_bomb.png").write_bytes(bomb_png())
    good = (data_dir / "convert/no_face_coffee.png").read_bytes()
    (images / "c_cut.png").write_bytes(good[: len(good) // 3])
    shutil.copy(data_dir / "convert/two_people_obama_biden.jpg", images / "d_people.jpg")
    before = tree_hashes(images)
    with caplog.at_level(logging.WARNING):
        code, out, err = run_cli(capfd, "extract", images, "-o", tmp_path / "faces", "--no-progress", "--size", "64")
    assert code == 0, err
    assert "libpng" not in err
    assert "2 frame(s) could not be decoded and were skipped" in err
    warned = err + " ".join(r.getMessage() for r in caplog.records)
    assert "b_bomb.png" in warned and "60000x60000" in warned and "c_cut.png" in warned
    faces = sorted(p.name for p in (tmp_path / "faces").glob("*.png"))
    assert {n.split("_")[0] + "_" + n.split("_")[1] for n in faces} == {"a_people", "d_people"}
    assert tree_hashes(images) == before


def test_valid_faces_still_read(face_png, tmp_path):
    p = tmp_path / "ok.png"
    p.write_bytes(face_png)
    meta = read_face_meta(p)
    assert meta.size == 64 and len(meta.landmarks) == 478 and all(math.isfinite(v) for v in meta.pose)
