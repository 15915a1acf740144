"""convert end to end on real clips with a tiny trained model: selection, pass-through, audio, labels, resume."""
from __future__ import annotations

import numpy as np
import pytest
from convert_fixtures import noface_store, tiny_model, two_faces_store, two_faces_with_audio  # noqa: F401
from convert_helpers import audio_packets, decode_all, psnr

from twoface.convert import convert
from twoface.media.label import read_label
from twoface.media.watermark import detect
from twoface.store.metadata import list_face_files

# in two_faces_side_by_side.mp4 (720x360), A's face fills the left half and B's face sits here:
B_FACE = (slice(60, 220), slice(440, 600))
A_FACE = (slice(40, 300), slice(200, 350))


def test_filter_swaps_only_person_a_and_keeps_count_fps_times_audio(tmp_path, tiny_model, two_faces_with_audio,
                                                                     faces_a):
    ref = list_face_files(faces_a)[0]  # a face PNG of A is the reference
    out = tmp_path / "only_a.mp4"
    r = convert(two_faces_with_audio, tiny_model, out, filter=[ref], progress=False)  # faces found on the fly
    assert r.faces_from == "on the fly"
    src, src_t, src_fps = decode_all(two_faces_with_audio)
    got, got_t, got_fps = decode_all(out)
    assert len(got) == len(src) == 50 and got_fps == src_fps == 25
    assert got_t == pytest.approx(src_t, abs=1e-6)
    assert r.faces == 50  # one face (A) per frame
    # B's face is untouched (only the watermark and the H.264 re-encode differ); A's face is replaced
    b_psnr = [psnr(x[B_FACE], y[B_FACE]) for x, y in zip(src, got)]
    a_psnr = [psnr(x[A_FACE], y[A_FACE]) for x, y in zip(src, got)]
    assert np.mean(b_psnr) >= 35 and min(b_psnr) >= 32, (np.mean(b_psnr), min(b_psnr))
    assert np.mean(a_psnr) < 25, np.mean(a_psnr)
    # the audio stream is copied packet for packet
    packets = audio_packets(two_faces_with_audio)
    assert len(packets) > 50 and audio_packets(out) == packets
    # labelled synthetic and watermarked; the input is neither
    assert read_label(out)["tag"].startswith("synthetic:twoface/")
    assert read_label(two_faces_with_audio) is None
    assert all(detect(got[i]).found for i in (0, 25, 49))
    assert not any(detect(src[i]).found for i in (0, 25, 49))
    # and `twoface inspect` says so
    from twoface.inspect import inspect_path

    seen, plain = inspect_path(out), inspect_path(two_faces_with_audio)
    assert seen["synthetic_label"] and seen["watermark"]["found"]
    assert not plain["synthetic_label"] and not plain["watermark"]["found"]


def test_frames_without_faces_pass_through(tmp_path, tiny_model, noface_store):
    clip, store = noface_store
    out = tmp_path / "out.mp4"
    r = convert(clip, tiny_model, out, store=store, progress=False)
    assert r.faces_from == "store"
    src, src_t, _ = decode_all(clip)
    got, got_t, _ = decode_all(out)
    assert len(got) == len(src) == 143
    assert got_t == pytest.approx(src_t, abs=1e-6)
    assert 40 <= r.converted <= 55  # the face is there for about 2 s at 24 fps
    values = [psnr(x, y) for x, y in zip(src, got)]
    noface = values[60:]  # well after the cut to the cartoon
    assert np.mean(noface) >= 35 and min(noface) >= 32, (np.mean(noface), min(noface))
    assert np.mean(values[:40]) < np.mean(noface) - 5  # the face frames really changed


def test_skip_unchanged_leaves_faceless_frames_out_of_an_image_folder(tmp_path, tiny_model, noface_store):
    clip, store = noface_store
    out = tmp_path / "frames"
    r = convert(clip, tiny_model, out, store=store, frames="0-29,100-", image_format="jpg", progress=False)
    files = sorted(out.glob("*.jpg"))
    assert r.kind == "images" and len(files) == r.frames == r.converted == 30  # image folders skip by default
    assert files[0].name == "000000.jpg" and files[-1].name == "000029.jpg"
    assert read_label(files[0]) is not None


def _interrupt_at(monkeypatch, index: int) -> None:
    """Make the writer raise KeyboardInterrupt (as Ctrl-C would) when frame ``index`` is written."""
    from twoface.convert import output as output_mod

    real = output_mod.Output.write

    def write(self, job, image):
        if job.index == index:
            raise KeyboardInterrupt
        real(self, job, image)

    monkeypatch.setattr(output_mod.Output, "write", write)


def test_an_interrupted_video_resumes_and_keeps_the_frames_written(tmp_path, tiny_model, two_faces_with_audio,
                                                                    two_faces_store, monkeypatch):
    out = tmp_path / "resumed.mp4"
    _interrupt_at(monkeypatch, 30)
    with pytest.raises(KeyboardInterrupt):
        convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, progress=False)
    assert not out.exists()  # nothing half-written under the final name
    kept = sorted((tmp_path / "resumed.mp4.parts").glob("*.mp4"))
    assert [p.name for p in kept] == ["000000000-000000029.mp4"]
    monkeypatch.undo()
    r = convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, progress=False)
    assert r.resumed_from == 30 and r.frames == 20
    src, src_t, _ = decode_all(two_faces_with_audio)
    got, got_t, _ = decode_all(out)
    assert len(got) == 50 and got_t == pytest.approx(src_t, abs=1e-6)
    assert audio_packets(out) == audio_packets(two_faces_with_audio)
    assert not (tmp_path / "resumed.mp4.parts").exists()
    assert read_label(out) is not None and detect(got[10]).found and detect(got[40]).found


def test_an_interrupted_image_folder_resumes_without_rewriting(tmp_path, tiny_model, two_faces_with_audio,
                                                               two_faces_store, monkeypatch):
    out = tmp_path / "frames"
    _interrupt_at(monkeypatch, 12)
    with pytest.raises(KeyboardInterrupt):
        convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, writer="images", progress=False)
    first = sorted(out.glob("*.png"))
    assert len(first) == 12
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    monkeypatch.undo()
    r = convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, writer="images", progress=False)
    assert r.resumed_from == 12 and r.frames == 38
    assert len(list(out.glob("*.png"))) == 50
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in first)


def test_outputs_are_never_overwritten_without_overwrite(tmp_path, tiny_model, two_faces_with_audio,
                                                        two_faces_store):
    from twoface.errors import OutputError

    out = tmp_path / "out.mp4"
    convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, frames="0-4", progress=False)
    before = out.read_bytes()
    with pytest.raises(OutputError, match="--overwrite"):
        convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, progress=False)
    assert out.read_bytes() == before
    r = convert(two_faces_with_audio, tiny_model, out, store=two_faces_store, overwrite=True, color="seamless",
                mask="predicted", sharpen="unsharp", scale=0.5, progress=False)
    assert r.frames == 50 and out.read_bytes() != before
    got, _, _ = decode_all(out)
    assert got[0].shape == (180, 360, 3)


def test_an_image_and_a_gif_through_the_cli(tmp_path, capsys, data_dir, tiny_model, two_faces_with_audio,
                                            two_faces_store):
    import cv2

    from twoface.cli import main

    photo = data_dir / "convert/two_people_obama_biden.jpg"
    out = tmp_path / "swapped.png"
    assert main(["convert", str(photo), "-m", str(tiny_model), "-o", str(out), "--no-progress",
                 "--color", "color-transfer", "--sharpen", "gaussian"]) == 0
    assert "2 faces" in capsys.readouterr().out
    img, src = cv2.imread(str(out)), cv2.imread(str(photo))
    assert img.shape == src.shape and psnr(img, src) < 35  # two faces were replaced
    assert read_label(out) is not None and detect(img).found
    gif = tmp_path / "clip.gif"
    assert main(["convert", str(two_faces_with_audio), "-m", str(tiny_model), "-o", str(gif), "--store",
                 str(two_faces_store), "--frames", "0-9", "--skip-unchanged", "--scale", "0.5",
                 "--no-progress"]) == 0
    assert read_label(gif) is not None
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 10 and im.size == (360, 180)


def test_an_image_folder_keeps_file_names_and_leaves_out_faceless_images(tmp_path, data_dir, tiny_model):
    import shutil

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(data_dir / "convert/two_people_obama_biden.jpg", photos / "a_people.jpg")
    shutil.copy(data_dir / "convert/no_face_coffee.png", photos / "b_coffee.png")
    out = tmp_path / "swapped"
    r = convert(photos, tiny_model, out, progress=False)
    assert r.kind == "images" and r.converted == 1 and r.skipped == 1
    assert [p.name for p in out.glob("*.png")] == ["a_people.png"]
    r = convert(photos, tiny_model, tmp_path / "all", keep_unchanged=True, image_format="jpg", progress=False)
    assert sorted(p.name for p in (tmp_path / "all").glob("*.jpg")) == ["a_people.jpg", "b_coffee.jpg"]
