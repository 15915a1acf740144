"""Helpers for the convert tests: decoding whole videos and comparing them."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def decode_all(path: Path) -> tuple[list[np.ndarray], list[float], float]:
    """(BGR frames, presentation times in seconds, average fps) of a video."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate)
        frames, times = [], []
        for f in c.decode(stream):
            frames.append(f.to_ndarray(format="bgr24"))
            times.append(float(f.pts * f.time_base))
    order = np.argsort(times)
    return [frames[i] for i in order], [times[i] for i in order], fps


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
