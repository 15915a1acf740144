"""Writers: H.264 round trip with bit-exact audio and labels, images, GIF, resumable segments."""
from __future__ import annotations

import gc
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from twoface.errors import OutputError
from twoface.media import SYNTHETIC_TAG, SegmentedVideoWriter, open_media, open_writer, read_label
from twoface.media.label import label_jpeg, label_png
from twoface.media.writer import GifWriter, ImageWriter, VideoWriter, kind_for

FLV = "train/person_b_cremad_actor1001/1001_DFA_ANG_XX.flv"


def audio_packets(path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def audio_times(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.array([float(p.pts * p.time_base) for p in c.demux(c.streams.audio[0]) if p.size])


def assert_same_audio(out, src) -> None:
    """Same packets byte for byte, at the same times (to 1 ms: MP4 re-expresses FLV's ms clock in samples)."""
    assert audio_packets(out) == audio_packets(src)
    assert np.abs(audio_times(out) - audio_times(src)).max() <= 0.001


def convert(src_path, out, writer_factory=None, **options):
    """Decode ``src_path`` and write every frame unchanged; returns the decoded frames."""
    src = open_media(src_path)
    info = src.info
    frames = list(src.frames())
    factory = writer_factory or (lambda: open_writer(out, fps=info.rate, size=(info.width, info.height),
                                                     time_base=info.time_base, audio_from=src_path, **options))
    with factory() as w:
        for f in frames:
            w.write(f.image, f.index, f.time)
    return frames


def test_video_round_trip_keeps_frames_times_audio_and_label(tmp_path, small_video):
    out = tmp_path / "out.mp4"
    frames = convert(small_video.path, out, tags={"twoface_model": "demo"})
    result = open_media(out)
    back = list(result.frames())
    assert result.info.frame_count == len(back) == 40
    assert result.info.rate == Fraction(25)
    assert [f.time for f in back] == [f.time for f in frames]  # same timestamps, exactly
    assert min(cv2.PSNR(a.image, b.image) for a, b in zip(back, frames)) > 30  # CRF 18 on 160x120: codec loss
    assert_same_audio(out, small_video.path)  # copied, not re-encoded
    assert len(audio_packets(out)) == small_video.audio_packets > 0
    assert read_label(out) == {"tag": SYNTHETIC_TAG, "version": SYNTHETIC_TAG.split("/")[1],
                               "where": "container comment"}
    with av.open(str(out)) as c:
        assert c.metadata.get("twoface_model") == "demo"
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert read_label(small_video.path) is None


def test_real_flv_audio_copied_bit_exact(tmp_path, data_dir):
    """CREMA-D: VP6 video with MP3 audio, 1 ms timestamps starting at 27 ms."""
    src = data_dir / FLV
    out = tmp_path / "flv.mp4"
    frames = convert(src, out)
    back = list(open_media(out).frames())
    assert len(back) == len(frames) == 67
    assert [f.time for f in back] == [f.time for f in frames]
    assert_same_audio(out, src)


def test_audio_from_a_silent_source_gives_a_silent_video(tmp_path, data_dir):
    src = data_dir / "convert/two_faces_side_by_side.mp4"
    out = tmp_path / "silent.mp4"
    convert(src, out)
    with av.open(str(out)) as c:
        assert not c.streams.audio and c.streams.video[0].frames == 50


def test_odd_size_is_padded_to_even(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (121, 161, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (9, 9), 3)
    out = tmp_path / "odd.mkv"
    with open_writer(out, fps=10, size=(161, 121)) as w:
        for i in range(3):
            w.write(img, i)
    back = list(open_media(out).frames())
    assert len(back) == 3 and back[0].image.shape == (122, 162, 3)
    assert cv2.PSNR(back[0].image[:121, :161], img) > 35
    assert [f.time for f in back] == pytest.approx([0.0, 0.1, 0.2])


def test_video_is_atomic_and_aborts_cleanly(tmp_path, small_video):
    out = tmp_path / "atomic.mp4"
    frame = small_video.frames[0]
    w = VideoWriter(out, 25, (160, 120))
    w.write(frame, 0)
    assert not out.exists()  # nothing under the final name until close
    w.close()
    assert out.exists()
    out2 = tmp_path / "aborted.mp4"
    with pytest.raises(RuntimeError):
        with open_writer(out2, fps=25, size=(160, 120)) as w:
            w.write(frame, 0)
            raise RuntimeError("conversion failed")
    assert not out2.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.mp4"]  # no temp files left behind


def test_wrong_frame_size_and_bad_output_type(tmp_path, small_video):
    with pytest.raises(ValueError, match="160x120"):
        with open_writer(tmp_path / "a.mp4", fps=25, size=(160, 120)) as w:
            w.write(np.zeros((100, 100, 3), np.uint8), 0)
    with pytest.raises(OutputError, match=r"\.webm"):
        open_writer(tmp_path / "a.webm", kind="video", fps=25, size=(160, 120))


def test_image_writer_png_and_jpg_are_labelled(tmp_path, small_video):
    folder = tmp_path / "png"
    with open_writer(folder, kind="images") as w:
        w.write(small_video.frames[0], 0)
        w.write(small_video.frames[1], 1, name="frame_b.jpg")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["000000.png", "frame_b.png"]
    back = cv2.imread(str(folder / "000000.png"))
    assert np.array_equal(back, small_video.frames[0])  # PNG is lossless
    assert read_label(folder / "frame_b.png")["tag"] == SYNTHETIC_TAG
    jpgs = tmp_path / "jpg"
    with open_writer(jpgs, kind="images", image_format="jpg") as w:
        w.write(small_video.frames[2], 7)
    jpg = jpgs / "000007.jpg"
    assert cv2.PSNR(cv2.imread(str(jpg)), small_video.frames[2]) > 30
    assert read_label(jpg) == {"tag": SYNTHETIC_TAG, "version": SYNTHETIC_TAG.split("/")[1], "where": "jpeg COM"}
    single = tmp_path / "one.jpg"
    with ImageWriter(single) as w:
        w.write(small_video.frames[3], 0)
    assert read_label(single)["tag"] == SYNTHETIC_TAG


def test_gif_writer(tmp_path, small_video):
    out = tmp_path / "clip.gif"
    with open_writer(out, fps=25) as w:
        assert isinstance(w, GifWriter)
        for i, f in enumerate(small_video.frames[:10]):
            w.write(f, i, i / 25)
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames == 10
        assert im.info.get("duration") == 40
    assert read_label(out)["where"] == "gif comment"
    back = list(open_media(out).frames())  # FFmpeg reads GIF too
    assert len(back) == 10


def test_labels_on_plain_bytes_and_unlabelled_files(data_dir, tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    p = tmp_path / "x.png"
    p.write_bytes(label_png(png.tobytes()))
    assert read_label(p)["tag"] == SYNTHETIC_TAG
    assert cv2.imread(str(p)).shape == (8, 8, 3)  # still a valid PNG
    ok, jpg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    j = tmp_path / "x.jpg"
    j.write_bytes(label_jpeg(jpg.tobytes()))
    assert read_label(j)["tag"] == SYNTHETIC_TAG and cv2.imread(str(j)) is not None
    for real in ["convert/no_face_coffee.png", "convert/two_people_obama_biden.jpg", FLV,
                 "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"]:
        assert read_label(data_dir / real) is None


def test_kind_from_suffix(tmp_path):
    assert kind_for("a.mp4") == kind_for("a.MKV") == "video"
    assert kind_for("a.gif") == "gif"
    assert kind_for(tmp_path / "frames") == kind_for("a.png") == "images"


# ------------------------------------------------------------------ segmented, resumable writing
def _segmented(out, src, **kw):
    info = open_media(src).info
    return SegmentedVideoWriter(out, info.rate, (info.width, info.height), time_base=info.time_base,
                                audio_from=src, segment_frames=16, **kw)


def test_segmented_writer_survives_a_kill_and_matches_an_uninterrupted_run(tmp_path, data_dir):
    src_path = data_dir / FLV
    src = open_media(src_path)
    reference = tmp_path / "straight.mp4"
    frames = convert(src_path, reference)

    out = tmp_path / "resumed.mp4"
    first = _segmented(out, src_path)
    assert first.next_index == 0
    for f in src.frames():
        if f.index == 40:
            break  # "killed" mid-segment: frames 32..39 are in an unfinished segment
        first.write(f.image, f.index, f.time)
    parts = out.with_name(out.name + ".parts")
    assert sorted(p.name for p in first.segments()) == ["000000000-000000015.mp4", "000000016-000000031.mp4"]
    assert not out.exists()

    second = _segmented(out, src_path)  # the rerun, while the abandoned writer still exists
    assert second.next_index == 32
    del first
    gc.collect()
    with pytest.raises(ValueError):
        second.write(frames[0].image, 0, frames[0].time)
    for f in src.frames(start=second.next_index):
        second.write(f.image, f.index, f.time)
    second.finalize()
    assert not parts.exists()

    resumed = list(open_media(out).frames())
    straight = list(open_media(reference).frames())
    assert len(resumed) == len(straight) == 67
    assert [f.index for f in resumed] == list(range(67))
    assert [f.time for f in resumed] == [f.time for f in frames]
    for a, b, s in zip(resumed, straight, frames):
        assert cv2.PSNR(a.image, s.image) > 35 and cv2.PSNR(b.image, s.image) > 35
        assert cv2.PSNR(a.image, b.image) > 35
    assert_same_audio(out, src_path)
    assert read_label(out)["tag"] == SYNTHETIC_TAG


def test_segmented_exception_keeps_the_open_segment(tmp_path, small_video):
    out = tmp_path / "ctrl_c.mp4"
    with pytest.raises(KeyboardInterrupt):
        with _segmented(out, small_video.path) as w:
            for i in range(21):
                w.write(small_video.frames[i], i, float(small_video.times[i]))
            raise KeyboardInterrupt
    again = _segmented(out, small_video.path)
    assert again.next_index == 21  # frames 16..20 were closed into a short segment, not lost
    for i in range(21, 40):
        again.write(small_video.frames[i], i, float(small_video.times[i]))
    again.close()
    back = list(open_media(out).frames())
    assert [f.time for f in back] == [float(t) for t in small_video.times]
    assert_same_audio(out, small_video.path)


def test_segmented_restarts_when_settings_change(tmp_path, small_video):
    out = tmp_path / "s.mp4"
    w = _segmented(out, small_video.path)
    for i in range(16):
        w.write(small_video.frames[i], i, float(small_video.times[i]))
    assert _segmented(out, small_video.path).next_index == 16
    assert _segmented(out, small_video.path, quality=28).next_index == 0  # other settings: old parts dropped
