"""Extraction speed and memory on 720p, next to the decode-only rate measured in the same run.

Makes a 720p H.264 clip by upscaling (and looping) the dev clip of person A, then runs, each in its
own subprocess so peak RSS is per run:
  decode only (PyAV, the floor no extractor can beat) and the full `twoface extract`
  (detect + landmarks + identity + align + masks + PNG + store), on a 10 s and a 60 s clip.
Target (issue 2): >= 25 frames/s on 720p, RSS not growing from 10 s to 60 s.

usage: .venv/bin/python bench/extract.py [--seconds-short 10] [--seconds-long 60] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
SOURCE = DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"


def make_720p(out: Path, seconds: float, fps: int = 24) -> int:
    """Upscale and loop the dev clip to 1280x720 for ``seconds``; returns the frame count."""
    import av
    import cv2

    want = int(seconds * fps)
    with av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        n = 0
        while n < want:
            with av.open(str(SOURCE)) as src:
                for frame in src.decode(video=0):
                    img = cv2.resize(frame.to_ndarray(format="bgr24"), (1280, 720), interpolation=cv2.INTER_CUBIC)
                    vf = av.VideoFrame.from_ndarray(img, format="bgr24")
                    vf.pts = n
                    vf.time_base = Fraction(1, fps)
                    for pkt in stream.encode(vf):
                        dst.mux(pkt)
                    n += 1
                    if n >= want:
                        break
        for pkt in stream.encode():
            dst.mux(pkt)
    return want


CHILD = r"""
import json, resource, sys, time
mode, clip, out = sys.argv[1:4]
t0 = time.perf_counter()
if mode == "decode":
    from twoface.media import open_media
    n = sum(1 for _ in open_media(clip).frames())
    faces = 0
else:
    from twoface.extract import extract
    r = extract(clip, out + "/faces", store=out + "/s.twoface.db", progress=False)
    n, faces = r.frames, r.faces
dt = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"frames": n, "faces": faces, "seconds": dt, "fps": n / dt,
                  "cpu_ms_per_frame": 1000 * (ru.ru_utime + ru.ru_stime) / max(n, 1),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(mode: str, clip: Path, work: Path) -> dict:
    out = work / f"{mode}-{clip.stem}"
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, never a resume
    out.mkdir()
    res = subprocess.run([sys.executable, "-c", CHILD, mode, str(clip), str(out)], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"{mode} on {clip} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds-short", type=float, default=10)
    ap.add_argument("--seconds-long", type=float, default=60)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="twoface-bench-extract-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for secs in (args.seconds_short, args.seconds_long):
        clip = work / f"a720p_{int(secs)}s.mp4"
        if not clip.exists():
            make_720p(clip, secs)
        dec = measure("decode", clip, work)
        ext = measure("extract", clip, work)
        rows.append((secs, dec, ext))
    print(f"load average at start: {os.getloadavg()[0]:.1f} (figures are only meaningful on an idle machine)")
    print(f"{'clip':>8} {'frames':>7} {'decode fps':>11} {'extract fps':>12} {'extract/decode':>15} "
          f"{'faces':>6} {'CPU ms/frame':>13} {'peak RSS MB':>12}")
    for secs, dec, ext in rows:
        print(f"{secs:>7.0f}s {ext['frames']:>7} {dec['fps']:>11.1f} {ext['fps']:>12.1f} "
              f"{ext['fps'] / dec['fps']:>15.2f} {ext['faces']:>6} {ext['cpu_ms_per_frame']:>13.1f} "
              f"{ext['peak_rss_mb']:>12.0f}")
    (short, long_) = rows[0][2], rows[1][2]
    print(f"target >= 25 frames/s on 720p: {'met' if long_['fps'] >= 25 else 'NOT met'} ({long_['fps']:.1f})")
    print(f"CPU-bound ceiling on {os.cpu_count()} idle cores: {1000 * os.cpu_count() / long_['cpu_ms_per_frame']:.1f} frames/s")
    print(f"RSS growth {args.seconds_short:.0f} s -> {args.seconds_long:.0f} s: {long_['peak_rss_mb'] - short['peak_rss_mb']:+.0f} MB "
          f"({long_['peak_rss_mb'] / short['peak_rss_mb']:.2f}x)")


if __name__ == "__main__":
    main()
