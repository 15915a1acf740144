"""Bad input to `twoface convert`: one clear line, exit code 2, earlier outputs untouched."""
from __future__ import annotations

import pytest
from convert_fixtures import tiny_model, two_faces_with_audio  # noqa: F401 (fixtures)

from twoface.cli import main


@pytest.fixture
def earlier_output(tmp_path):
    out = tmp_path / "earlier.mp4"
    out.write_bytes(b"an earlier output that must survive")
    return out


def _run(capsys, *argv) -> tuple[int, str]:
    code = main(["convert", *map(str, argv), "--no-progress"])
    err = capsys.readouterr().err.strip()
    return code, err


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_folder_that_is_not_a_model(tmp_path, capsys, two_faces_with_audio, earlier_output):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("not a model")
    code, err = _run(capsys, two_faces_with_audio, "-m", notes, "-o", earlier_output, "--overwrite")
    assert code == 2 and "not a twoface model" in _one_line(err) and "notes" in err
    assert earlier_output.read_bytes() == b"an earlier output that must survive"


def test_a_store_of_another_video(tmp_path, capsys, data_dir, tiny_model, two_faces_with_audio, earlier_output):
    from twoface.extract import extract

    store = tmp_path / "coffee.twoface.db"
    extract(data_dir / "convert/no_face_coffee.png", None, store=store, progress=False)
    code, err = _run(capsys, two_faces_with_audio, "-m", tiny_model, "-o", earlier_output, "--store", store,
                     "--overwrite")
    assert code == 2 and "store is for another video" in _one_line(err) and "coffee" in err
    assert earlier_output.read_bytes() == b"an earlier output that must survive"


def test_a_corrupt_video(tmp_path, capsys, tiny_model, two_faces_with_audio, earlier_output):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(two_faces_with_audio.read_bytes()[:30000])  # cut mid-file
    code, err = _run(capsys, broken, "-m", tiny_model, "-o", earlier_output, "--overwrite")
    assert code == 2 and "broken.mp4" in _one_line(err)
    assert earlier_output.read_bytes() == b"an earlier output that must survive"


def test_an_unwritable_output(tmp_path, capsys, tiny_model, two_faces_with_audio):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, err = _run(capsys, two_faces_with_audio, "-m", tiny_model, "-o", blocker / "out.mp4")
    assert code == 2 and "a_file" in _one_line(err)


def test_an_existing_output_needs_overwrite(capsys, tiny_model, two_faces_with_audio, earlier_output):
    code, err = _run(capsys, two_faces_with_audio, "-m", tiny_model, "-o", earlier_output)
    assert code == 2 and "--overwrite" in _one_line(err)
    assert earlier_output.read_bytes() == b"an earlier output that must survive"


@pytest.mark.parametrize("flags, words", [
    (["--frames", "20-10"], "--frames"),
    (["--erode", "80"], "--erode"),
    (["--scale", "0"], "--scale"),
    (["--filter", "/nonexistent/ref.jpg"], "ref.jpg"),
])
def test_bad_options_fail_before_any_work(tmp_path, capsys, tiny_model, two_faces_with_audio, flags, words):
    out = tmp_path / "out.mp4"
    code, err = _run(capsys, two_faces_with_audio, "-m", tiny_model, "-o", out, *flags)
    assert code == 2 and words in _one_line(err)
    assert not out.exists() and not (tmp_path / "out.mp4.parts").exists()


def test_a_video_suffix_we_cannot_write(tmp_path, capsys, tiny_model, two_faces_with_audio):
    out = tmp_path / "swapped.avi"
    code, err = _run(capsys, two_faces_with_audio, "-m", tiny_model, "-o", out)
    assert code == 2 and ".avi video output is not supported" in _one_line(err) and ".mp4" in err
    assert not out.exists()  # not quietly turned into a folder of PNGs
