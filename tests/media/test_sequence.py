"""Frame-number patterns, numbered folders, 16-bit TIFF, EXR support, and reference matching."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.errors import InputError, OutputError
from twoface.media import open_media
from twoface.media.deep import exr_supported, read_frame
from twoface.media.label import read_label
from twoface.media.reference import Reference, match
from twoface.media.sequence import gaps, infer, parse_pattern
from twoface.media.seqwriter import SequenceWriter


def test_patterns_and_inferred_numbering():
    p = parse_pattern("plates/shot.%04d.png")
    assert (p.prefix, p.suffix, p.width, p.name(7)) == ("shot.", ".png", 4, "shot.0007.png")
    assert parse_pattern("shot.####.tif").text == "shot.%04d.tif"
    assert parse_pattern("f%d.png").name(12) == "f12.png"
    assert parse_pattern("plain.png") is None and parse_pattern("a%04d_%04d.png") is None
    assert p.number("shot.0012.png") == 12 and p.number("shot.12.png") is None and p.number("shot.12345.png") == 12345
    assert infer(["f1.png", "f2.png", "f10.png"]).width == 1
    assert infer(["f0001.png", "f0100.png"]).width == 4
    assert infer(["a.png", "b.png"]) is None and infer(["f1.png", "f01.png"]) is None
    assert infer(["x1.png", "y2.png"]) is None
    assert gaps([1, 2, 3, 7, 8, 10]) == [(4, 6), (9, 9)]


def test_numbered_folder_is_read_by_number_and_16bit_tiff_round_trips_labelled(tmp_path, data_dir):
    img = cv2.imread(str(data_dir / "convert/no_face_coffee.png"), cv2.IMREAD_COLOR)
    deep = np.minimum(img.astype(np.int32) * 257 + 60, 65535).astype(np.uint16)  # not a multiple of 257
    for n in (1, 2, 10):  # name order would put 10 before 2
        cv2.imwrite(str(tmp_path / f"f{n}.tif"), deep if n != 2 else np.full_like(deep, 40000))
    src = open_media(tmp_path)
    got = list(src.frames())
    assert [f.index for f in got] == [1, 2, 10] and [f.name for f in got] == ["f1.tif", "f2.tif", "f10.tif"]
    assert got[0].deep.dtype == np.uint16 and np.array_equal(got[0].deep, deep)
    assert np.abs(got[0].image.astype(int) - img).max() <= 1  # the 8-bit view for face finding
    assert src.summary()["bit_depth"] == 16 and src.format == "tif"
    out = tmp_path / "out"
    w = SequenceWriter(out, image_format="tif")
    w.write(got[0].deep, 1, name="f1.tif", untouched=True)
    w.write(got[0].deep, 10, name="f10.tif")
    back, marked = read_frame(out / "f1.tif")[1], read_frame(out / "f10.tif")[1]
    assert np.array_equal(back, deep)  # written back bit for bit, at 16 bits
    assert marked.dtype == np.uint16 and not np.array_equal(marked, deep)  # the watermark, at 16 bits
    assert read_label(out / "f1.tif")["where"] == "tiff ImageDescription"
    from twoface.media.watermark import detect

    assert detect(cv2.imread(str(out / "f10.tif"), cv2.IMREAD_COLOR)).found
    assert not detect(cv2.imread(str(out / "f1.tif"), cv2.IMREAD_COLOR)).found


def test_exr_is_read_and_written_or_refused_with_a_clear_message(tmp_path):
    frame = np.linspace(0, 1, 64 * 48 * 3, dtype=np.float32).reshape(48, 64, 3)
    w = SequenceWriter(tmp_path / "out/s.%04d.exr")
    if exr_supported() and exr_supported(write=True):
        w.write(frame, 1, untouched=True)
        back = open_media(tmp_path / "out/s.####.exr")
        f = next(back.frames())
        assert f.deep.dtype == np.float32 and np.allclose(f.deep, frame, atol=1e-3)
        return
    with pytest.raises(OutputError, match="cannot write OpenEXR"):
        w.write(frame, 1, untouched=True)
    (tmp_path / "s.0001.exr").write_bytes(b"v/1\x01" + bytes(64))
    with pytest.raises(InputError, match="cannot read OpenEXR.*OPENCV_IO_ENABLE_OPENEXR") as info:
        open_media(tmp_path / "s.%04d.exr")
    assert "\n" not in str(info.value)


def test_a_pattern_that_matches_nothing_names_the_folder(tmp_path):
    with pytest.raises(InputError, match="no files match the pattern"):
        open_media(tmp_path / "shot.%04d.png")


def test_reference_matching_names_missing_and_extra_frames():
    ref = Reference(Path("clip.mp4"), None, 25.0, None, [i / 25 for i in range(10)], False, 0.4, base=1)
    m = match([1, 2, 3, 6, 7, 8, 9, 10, 11, 12], ref)
    assert (m.missing, m.extra) == ([4, 5], [11, 12])
    line = m.report(Path("frames"), ref)
    assert "10 frames in clip.mp4 (numbers 1-10)" in line and "missing (4-5" in line and "(11-12;" in line
