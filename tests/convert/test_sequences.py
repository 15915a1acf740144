"""Image sequences end to end on real frames: --reference-video, 16-bit PNG round trips, numbering gaps.

The model is freshly initialised (not trained): these tests check timing,
audio, names, numbers and bit depth, not the likeness of the swap.
"""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from convert_fixtures import two_faces_with_audio  # noqa: F401
from convert_helpers import audio_packets, decode_all

from twoface.convert import convert
from twoface.media.label import read_label


@pytest.fixture(scope="module")
def fresh_model(tmp_path_factory) -> Path:
    """A freshly initialised 64 px model with a learned mask, saved as a model folder."""
    import torch

    from twoface.models import build
    from twoface.train import checkpoint as ck

    torch.manual_seed(0)
    model = build("custom", input_size=64, output_size=64, encoder_width=8, max_width=32, latent=32,
                  decoder_width=16, learn_mask=True)
    config = {"format": ck.FORMAT, "arch": model.arch, "options": dict(model.options),
              "input_size": model.input_size, "output_size": model.output_size, "learn_mask": model.learn_mask}
    out = tmp_path_factory.mktemp("fresh") / "model"
    ck.save_checkpoint(out, config, model.state_dict(), {"state.0.step": torch.zeros(1)}, {},
                       {"iteration": 0}, None)
    return out


def _frames(path: Path, n: int | None = None, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            img = f.to_ndarray(format="bgr24")
            out.append(cv2.resize(img, size, interpolation=cv2.INTER_AREA) if size else img)
            if n is not None and len(out) == n:
                break
    return out


def test_frame_folder_with_reference_video_gets_its_count_times_and_audio(tmp_path, fresh_model,
                                                                          two_faces_with_audio):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, img in enumerate(_frames(two_faces_with_audio), start=1):  # as `ffmpeg -i clip.mp4 f%04d.png` does
        cv2.imwrite(str(frames / f"f{i:04d}.png"), img)
    out = tmp_path / "out.mp4"
    r = convert(frames, fresh_model, out, frames="1-3", reference_video=two_faces_with_audio, progress=False)
    assert r.kind == "video" and r.frames == 50 and r.mismatch is None
    src, src_t, src_fps = decode_all(two_faces_with_audio)
    got, got_t, got_fps = decode_all(out)
    assert len(got) == len(src) == 50 and got_fps == src_fps == 25
    assert got_t == pytest.approx(src_t, abs=1e-6)
    packets = audio_packets(two_faces_with_audio)
    assert len(packets) > 50 and audio_packets(out) == packets  # copied bit-exact
    assert read_label(out)["tag"].startswith("synthetic:twoface/")

    # a sequence with a hole and one frame too many: matched by number, and said so
    (frames / "f0020.png").unlink()
    (frames / "f0021.png").unlink()
    cv2.imwrite(str(frames / "f0051.png"), src[0])
    r = convert(frames, fresh_model, tmp_path / "holes.mp4", frames="9999", reference_video=two_faces_with_audio,
                progress=False)
    assert r.frames == 48
    assert "2 frame(s) missing (20-21" in r.mismatch and "1 extra frame(s)" in r.mismatch and "(51;" in r.mismatch
    _, holes_t, _ = decode_all(tmp_path / "holes.mp4")
    assert holes_t == pytest.approx(src_t[:19] + src_t[21:], abs=1e-6)  # nothing shifted


def _deep(img: np.ndarray) -> np.ndarray:
    """A 16-bit frame from an 8-bit one: scaled to 16 bits and smoothed, so gradients have fine steps."""
    return np.clip(cv2.GaussianBlur(img.astype(np.float32) * 257.0, (0, 0), 2.0) + 0.5, 0, 65535).astype(np.uint16)


def test_16bit_png_sequence_stays_16bit_and_untouched_frames_are_bit_exact(tmp_path, fresh_model, data_dir):
    plates = tmp_path / "plates"
    plates.mkdir()
    src = {}
    clip = data_dir / "convert/two_faces_side_by_side.mp4"
    for n, img in enumerate(_frames(clip, 4), start=1001):
        src[n] = _deep(img)
        cv2.imwrite(str(plates / f"shot.{n}.png"), src[n])
    out = tmp_path / "out" / "shot.####.png"
    r = convert(tmp_path / "plates/shot.%04d.png", fresh_model, out, frames="1001", color="avg", progress=False)
    assert r.frames == 4 and r.converted == 1
    for n in src:
        path = tmp_path / "out" / f"shot.{n}.png"
        got = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert got.dtype == np.uint16 and got.shape == src[n].shape
        assert read_label(path) is not None
        if n != 1001:
            assert np.array_equal(got, src[n])  # untouched: bit for bit
    swapped = cv2.imread(str(tmp_path / "out/shot.1001.png"), cv2.IMREAD_UNCHANGED)
    changed = np.abs(swapped.astype(np.int32) - src[1001]).max(axis=2) > 2 * 257 * 3  # beyond the watermark
    ys, xs = np.nonzero(changed)
    assert len(ys) > 500  # a face was pasted
    face = swapped[ys.min():ys.max() + 1, xs.min():xs.max() + 1, 1]
    assert len(np.unique(face)) > 256  # the swapped region was not squeezed through 8 bits
    assert np.mean(face % 257 == 0) < 0.1
    smooth = swapped[150:250, 0:120, 1]  # a smooth stretch of background in a swapped frame
    assert len(np.unique(smooth)) > 256
    from twoface.media.watermark import detect

    assert detect(cv2.imread(str(tmp_path / "out/shot.1001.png"), cv2.IMREAD_COLOR)).found

    from twoface.inspect import inspect_path

    info = inspect_path(tmp_path / "out/shot.%04d.png")
    assert info["kind"] == "image sequence" and info["synthetic"]
    assert info["sequence"]["bit_depth"] == 16 and info["sequence"]["count"] == 4
    assert (info["sequence"]["first"], info["sequence"]["last"], info["sequence"]["gaps"]) == (1001, 1004, [])


def test_a_gap_in_the_numbering_stays_a_gap_in_the_store_and_the_output(tmp_path, fresh_model, data_dir):
    from twoface.extract import extract
    from twoface.store.alignments import AlignmentsStore

    seq = tmp_path / "grid"
    seq.mkdir()
    images = _frames(data_dir / "multi_identity/grid/bbaf2n.mpg", 20)
    numbers = [*range(1, 11), *range(15, 21)]
    for n in numbers:
        cv2.imwrite(str(seq / f"g_{n:03d}.png"), images[n - 1])
    store = tmp_path / "grid.twoface.db"
    clip = data_dir / "multi_identity/grid/bbaf2n.mpg"  # what the frames came from: its timing goes in the store
    extract(seq, None, store=store, progress=False, size=128, reference_video=clip)
    with av.open(str(clip)) as c:
        times = sorted(float(f.pts * f.time_base) for f in c.decode(video=0))
    with AlignmentsStore.open(store, readonly=True) as db:
        rows = db.frames()
        assert [r[0] for r in rows] == numbers  # the frame numbers, gap and all
        assert [r[2] for r in rows] == [f"g_{n:03d}.png" for n in numbers]
        assert [r[1] for r in rows] == pytest.approx([times[n - 1] for n in numbers], abs=1e-6)
        assert sum(r[3] for r in rows) >= 14  # one face in (nearly) every frame
        assert db.get_meta("sequence")["gaps"] == [[11, 14]]
        assert db.source.fps == 25 and db.source.frame_count == 16
        assert db.get_meta("reference_video")["frames"] == len(times) == 75
    r = convert(seq, fresh_model, tmp_path / "out", store=store, progress=False)
    assert r.faces_from == "store" and r.frames == 16
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"g_{n:03d}.png" for n in numbers]
    r = convert(seq, fresh_model, tmp_path / "renamed/x.%04d.png", store=store, frames="15-", progress=False)
    assert sorted(p.name for p in (tmp_path / "renamed").glob("*.png")) == [f"x.{n:04d}.png" for n in numbers]

    from twoface.inspect import inspect_path

    info = inspect_path(seq)["sequence"]
    assert (info["count"], info["first"], info["last"], info["gaps"], info["missing"]) == (16, 1, 20, [[11, 14]], 4)
    assert info["bit_depth"] == 8 and (info["width"], info["height"]) == (360, 288)
