"""The attacks the watermark must survive, as plain functions on frame lists (tests and bench/watermark.py).

Each attack takes the decoded frames of a marked clip and returns the frames a
viewer would decode after it: the geometric ones are followed by an H.264
re-encode at CRF 23 (what an upload does anyway), the codec ones re-encode at
the stated quality. Encoding goes through PyAV (libx264 / libvpx-vp9).
"""
from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def encode(frames: list[np.ndarray], path: Path, codec: str = "libx264", crf: int = 23,
           fps: int = 25) -> list[np.ndarray]:
    """Encode BGR frames (even-sized by cropping one px if needed) and decode them back."""
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": str(crf), "preset": "veryfast"} if codec == "libx264" else \
            {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h, :w]), format="bgr24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    with av.open(str(path)) as src:
        return [f.to_ndarray(format="bgr24") for f in src.decode(video=0)]


def rescale(frames, factor: float):
    h, w = frames[0].shape[:2]
    size = (round(w * factor / 2) * 2, round(h * factor / 2) * 2)
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


def crop(frames, side: str, fraction: float = 0.1):
    h, w = frames[0].shape[:2]
    dy, dx = round(h * fraction), round(w * fraction)
    cut = {"left": np.s_[:, dx:], "right": np.s_[:, :w - dx], "top": np.s_[dy:, :], "bottom": np.s_[:h - dy, :]}[side]
    return [np.ascontiguousarray(f[cut]) for f in frames]


def flip(frames):
    return [np.ascontiguousarray(f[:, ::-1]) for f in frames]


def change_rate(frames, src_fps: float, dst_fps: float):
    """Nearest-frame resampling to another rate (frames dropped or repeated)."""
    n = int(len(frames) * dst_fps / src_fps)
    return [frames[min(len(frames) - 1, int(i * src_fps / dst_fps))] for i in range(n)]


def cut_middle(frames, fps: float, seconds: float = 2.0):
    mid, k = len(frames) // 2, round(fps * seconds)
    return frames[:mid - k // 2] + frames[mid - k // 2 + k:] if len(frames) > k + 2 else frames


ATTACKS = ["none", "h264_crf28", "h264_crf35", "vp9", "scale_0.5", "scale_0.75", "crop_left", "crop_right",
           "crop_top", "crop_bottom", "flip", "fps_25_to_15", "cut_2s"]


def attack(name: str, frames: list[np.ndarray], fps: float, workdir: Path) -> list[np.ndarray]:
    """The frames after attack ``name`` (see ATTACKS)."""
    out = workdir / f"{name}.{'webm' if name == 'vp9' else 'mp4'}"
    r = max(1, round(fps))
    if name == "none":
        return encode(frames, out, crf=18, fps=r)
    if name.startswith("h264_crf"):
        return encode(frames, out, crf=int(name[8:]), fps=r)
    if name == "vp9":
        return encode(frames, out, codec="libvpx-vp9", crf=36, fps=r)
    if name.startswith("scale_"):
        return encode(rescale(frames, float(name[6:])), out, fps=r)
    if name.startswith("crop_"):
        return encode(crop(frames, name[5:]), out, fps=r)
    if name == "flip":
        return encode(flip(frames), out, fps=r)
    if name == "fps_25_to_15":
        return encode(change_rate(frames, fps, 15), out, fps=15)
    if name == "cut_2s":
        return encode(cut_middle(frames, fps), out, fps=r)
    raise ValueError(name)


@functools.lru_cache(maxsize=1)
def flat_fields() -> dict[str, np.ndarray]:
    """Uniform and gradient 720p frames (and a green screen): the watermark must leave them alone."""
    h, w = 720, 1280
    ramp_x = np.tile(np.linspace(0, 255, w), (h, 1))
    ramp_y = np.tile(np.linspace(0, 255, h)[:, None], (1, w))
    steep = np.tile(np.clip(np.arange(w) - 500.0, 0, 255), (h, 1))  # 0 -> 255 over 256 px, flat either side
    diag = np.add.outer(np.arange(h), np.arange(w)) / (h + w) * 255
    planes = {"black": np.zeros((h, w)), "grey": np.full((h, w), 128.0), "white": np.full((h, w), 255.0),
              "ramp_x": ramp_x, "ramp_y": ramp_y, "steep_ramp": steep, "diagonal": diag}
    out = {k: np.repeat(np.rint(v)[..., None], 3, axis=2).astype(np.uint8) for k, v in planes.items()}
    out["green_screen"] = np.dstack([np.full((h, w), 60), np.full((h, w), 175), np.full((h, w), 70)]).astype(np.uint8)
    return out
