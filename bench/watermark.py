"""Watermark invisibility, robustness, false positives and cost, on every dev clip (issue 13).

Prints markdown tables:
  1. invisibility of ``embed`` per dev file: PSNR and SSIM (luma) of the marked frame, PSNR on flat 8×8
     blocks (luma variance < 2) and the share of their pixels changed by > 1 level, and the grain ratio on
     those blocks (std of the Laplacian, marked / source) for embed alone and after the writer's H.264
     (CRF 18), next to the same encode of the unmarked frames (the baseline in the same run);
  2. flat fields (uniform and gradient 720p frames): the largest change;
  3. robustness: each attack of tests/watermark_attacks.py on each dev video (frames marked and written by
     the real writer, then attacked), detection over a 1-second window: detection rate and z spread,
     and the same attacks on the unmarked frames;
  4. false positives: every 1-second window of every unmarked dev file, synthetic noise windows and
     natural images (dev stills plus the sample photos that ship with matplotlib/scikit-learn, with
     crops and rescales), against the threshold and its union bound;
  5. cost: embed per 720p frame and detection of 1 s of 720p video, wall and CPU seconds.

usage: .venv/bin/python bench/watermark.py [--seconds 3.5] [--clips N] [--skip-robustness]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
MEDIA = {".mp4", ".flv", ".mpg", ".png", ".jpg"}


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two luma images (Gaussian window σ 1.5, the usual constants)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def g(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = g(a), g(b)
    va, vb, cov = g(a * a) - ma * ma, g(b * b) - mb * mb, g(a * b) - ma * mb
    return float(np.mean(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))))


def flat_blocks(gray: np.ndarray) -> np.ndarray:
    h, w = (gray.shape[0] // 8) * 8, (gray.shape[1] // 8) * 8
    var = gray[:h, :w].astype(float).reshape(h // 8, 8, w // 8, 8).var(axis=(1, 3))
    out = np.zeros(gray.shape, bool)
    out[:h, :w] = np.kron(var < 2, np.ones((8, 8), bool))
    return out


def lap_std(gray: np.ndarray, where: np.ndarray) -> float:
    lap = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)
    return float(lap[where].std()) if where.any() else float("nan")


def luma(bgr):
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def dev_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.suffix.lower() in MEDIA)


def frames_of(path: Path, limit: int, spread: bool = False) -> tuple[list[np.ndarray], float]:
    from twoface.media import open_media

    src = open_media(path)
    every = max(1, src.info.frame_count // limit) if spread else 1
    out = []
    for f in src.frames(every=every):
        out.append(f.image)
        if len(out) >= limit:
            break
    return out, float(src.info.fps or 25)


def roundtrip(frames, fps, tmp: Path, name: str) -> list[np.ndarray]:
    """Frames through the real video writer (CRF 18, as convert writes) and back; watermark off here."""
    from twoface.media import open_media, open_writer

    h, w = frames[0].shape[:2]
    out = tmp / f"{name}.mp4"
    with open_writer(out, fps=fps, size=(w, h)) as wr:
        for i, f in enumerate(frames):
            wr.write(f, i)
    return [f.image[:h, :w] for f in open_media(out).frames()]


def invisibility(tmp: Path) -> None:
    from twoface.media.watermark import embed

    print("\n## 1. Invisibility of embed (per dev file; video: 12 frames spread over the clip)\n")
    print("| file | PSNR dB | SSIM | flat blocks % | flat PSNR dB | flat px >1 level % | grain embed | "
          "grain after H.264: marked / unmarked |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for path in dev_files():
        frames, fps = frames_of(path, 12, spread=True)
        marked = [embed(f) for f in frames]
        ps, ss, fp, fc, g1, fr = [], [], [], [], [], []
        for f, m in zip(frames, marked):
            ps.append(cv2.PSNR(m, f))
            ss.append(ssim(luma(f), luma(m)))
            flat = flat_blocks(luma(f))
            fr.append(flat.mean())
            if flat.any():
                err = (m.astype(float) - f)[flat]
                fp.append(10 * np.log10(255 ** 2 / max(1e-12, float(np.mean(err ** 2)))))
                fc.append(float((np.abs(m.astype(int) - f).max(axis=2)[flat] > 1).mean()))
                g1.append(lap_std(luma(m), flat) / max(1e-9, lap_std(luma(f), flat)))
        g_m = g_u = float("nan")
        if len(frames) > 1 and np.mean(fr) > 0.01:
            enc_m, enc_u = roundtrip(marked, fps, tmp, "m"), roundtrip(frames, fps, tmp, "u")
            gm, gu = [], []
            for f, a, b in zip(frames, enc_m, enc_u):
                flat = flat_blocks(luma(f))
                if flat.any():
                    base = max(1e-9, lap_std(luma(f), flat))
                    gm.append(lap_std(luma(a), flat) / base)
                    gu.append(lap_std(luma(b), flat) / base)
            g_m, g_u = float(np.median(gm)), float(np.median(gu))
        med = (lambda v: float(np.median(v)) if v else float("nan"))
        rows.append((np.mean(ps), np.mean(ss), med(fp), med(g1), g_m, g_u))
        print(f"| {path.relative_to(DATA)} | {np.mean(ps):.1f} | {np.mean(ss):.4f} | {100 * np.mean(fr):.0f} | "
              f"{med(fp):.1f} | {100 * (np.mean(fc) if fc else 0):.2f} | {med(g1):.3f} | {g_m:.3f} / {g_u:.3f} |",
              flush=True)
    r = np.array(rows, float)
    print(f"| **median of {len(rows)} files** | {np.nanmedian(r[:, 0]):.1f} | {np.nanmedian(r[:, 1]):.4f} | | "
          f"{np.nanmedian(r[:, 2]):.1f} | | {np.nanmedian(r[:, 3]):.3f} | "
          f"{np.nanmedian(r[:, 4]):.3f} / {np.nanmedian(r[:, 5]):.3f} |")


def flat_fields() -> None:
    from twoface.media.watermark import embed
    from watermark_attacks import flat_fields as fields

    print("\n## 2. Flat fields (720p): largest change of any pixel, in levels\n")
    print("| field | max change | pixels changed |")
    print("|---|---|---|")
    for name, frame in fields().items():
        d = np.abs(embed(frame).astype(int) - frame)
        print(f"| {name} | {d.max()} | {int((d.max(axis=2) > 0).sum())} |")


def robustness(seconds: float, limit: int | None, tmp: Path) -> None:
    from twoface.media import open_media, open_writer
    from twoface.media.watermark import THRESHOLD, detect_frames
    from watermark_attacks import ATTACKS, attack

    print(f"\n## 3. Robustness: detection in 1 s windows of each dev video (first {seconds} s marked, written "
          "by the video writer at CRF 18, then attacked; geometric attacks re-encode at CRF 23)\n")
    clips = [p for p in dev_files() if p.suffix.lower() in (".mp4", ".flv", ".mpg")][:limit]
    marked_z = {a: [] for a in ATTACKS}
    plain_z = {a: [] for a in ATTACKS}
    per_clip = []
    for path in clips:
        src = open_media(path)
        fps = float(src.info.fps or 25)
        frames, _ = frames_of(path, round(seconds * fps))
        h, w = frames[0].shape[:2]
        out = tmp / "marked.mp4"
        with open_writer(out, fps=src.info.rate or fps, size=(w, h), watermark=True) as wr:
            for i, f in enumerate(frames):
                wr.write(f, i)
        marked = [f.image[:h, :w] for f in open_media(out).frames()]
        row = []
        for name in ATTACKS:
            if name == "cut_2s" and len(frames) < 3 * fps:
                row.append("-")
                continue
            n = round(15 if name == "fps_25_to_15" else fps)
            for src_frames, sink in ((marked, marked_z), (frames, plain_z)):
                got = attack(name, src_frames, fps, tmp)
                start = max(0, len(got) // 2 - n // 2) if name == "cut_2s" else 0
                sink[name].append(detect_frames(got[start:start + n]).score)
            row.append(f"{marked_z[name][-1]:.1f}")
        per_clip.append((path.relative_to(DATA), row))
        print(f"  {path.relative_to(DATA)}: " + " ".join(f"{a}={z}" for a, z in zip(ATTACKS, row)), flush=True)
    print(f"\nthreshold z >= {THRESHOLD:.2f}\n")
    print("| attack | detected | z min | z median | z max | unmarked z max |")
    print("|---|---|---|---|---|---|")
    for name in ATTACKS:
        z, u = np.array(marked_z[name]), np.array(plain_z[name])
        if not len(z):
            continue
        print(f"| {name} | {int((z >= THRESHOLD).sum())}/{len(z)} | {z.min():.1f} | {np.median(z):.1f} | "
              f"{z.max():.1f} | {u.max():.1f} |")


def natural_images() -> list[np.ndarray]:
    import importlib.util

    paths = [DATA / "convert/no_face_coffee.png", DATA / "convert/two_people_obama_biden.jpg"]
    for mod, rel in (("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
                     ("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg")):
        spec = importlib.util.find_spec(mod)
        if spec and spec.origin:
            p = Path(spec.origin).parent / rel
            if p.exists():
                paths.append(p)
    out = []
    rng = np.random.default_rng(1)
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            continue
        out.append(img)
        h, w = img.shape[:2]
        for _ in range(24):  # crops and rescales: other alignments of the same content
            y, x = rng.integers(0, h // 4), rng.integers(0, w // 4)
            crop = img[y:y + h * 3 // 4, x:x + w * 3 // 4]
            f = rng.uniform(0.6, 1.6)
            out.append(cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))
    return out, len(paths)


def false_positives() -> None:
    from twoface.media import open_media
    from twoface.media.watermark import (
        TESTS,
        THRESHOLD,
        false_positive_bound,
        pool,
        score_pooled,
    )

    print("\n## 4. False positives (unmarked content)\n")
    groups = {}
    z = []
    for path in dev_files():
        src = open_media(path)
        per, window = max(1, round(src.info.fps or 1)), []
        for f in src.frames():
            window.append(f.image)
            if len(window) == per:
                z.append(score_pooled(*pool(window)).score)
                window = []
        if window:
            z.append(score_pooled(*pool(window)).score)
    groups["dev files, every 1 s window"] = z
    rng = np.random.default_rng(7)
    z = []
    for i in range(60):
        kind = i % 3
        frames, base = [], rng.normal(128, 30, (360, 640))
        for _ in range(25):
            if kind == 0:
                f = rng.normal(128, 20, (360, 640)).clip(0, 255).astype(np.uint8)
            elif kind == 1:  # smooth noise (low-pass), the worst case for a mid-frequency detector
                f = cv2.GaussianBlur(rng.normal(128, 40, (360, 640)).astype(np.float32), (0, 0), 2).clip(0, 255)
                f = f.astype(np.uint8)
            else:  # a static textured frame plus small temporal noise
                f = (base + rng.normal(0, 2, base.shape)).clip(0, 255).astype(np.uint8)
            frames.append(f)
        z.append(score_pooled(*pool(frames)).score)
    groups["synthetic noise, 60 windows of 25 frames"] = z
    images, n_src = natural_images()
    groups[f"natural images ({n_src} photos + crops/rescales)"] = [score_pooled(*pool([im])).score for im in images]
    print(f"threshold z >= {THRESHOLD:.2f}; hypotheses per detection (offsets × scales × mirror) {TESTS}; "
          f"union bound P(false positive) <= {false_positive_bound():.1e} per detection (one 1 s window)\n")
    print("| content | detections | max z | mean z | >= threshold |")
    print("|---|---|---|---|---|")
    for name, v in groups.items():
        v = np.array(v)
        print(f"| {name} | {len(v)} | {v.max():.2f} | {v.mean():.2f} | {int((v >= THRESHOLD).sum())} |")


def cost(tmp: Path) -> None:
    from twoface.media import open_media, open_writer
    from twoface.media.watermark import detect_frames, detect_video, embed

    print("\n## 5. Cost (this machine, under nice, busy)\n")
    frames, _ = frames_of(DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4", 25)
    big = [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in frames]
    embed(big[0])
    reps = 4
    t, c = time.perf_counter(), time.process_time()
    for _ in range(reps):
        marked = [embed(f) for f in big]
    n = reps * len(big)
    print(f"embed 720p: {1e3 * (time.perf_counter() - t) / n:.2f} ms/frame wall, "
          f"{1e3 * (time.process_time() - c) / n:.2f} ms/frame CPU (all threads) over {n} frames")
    out = tmp / "720p.mp4"
    with open_writer(out, fps=25, size=(1280, 720), watermark=False) as w:
        for i, f in enumerate(marked):
            w.write(f, i)
    t, c = time.perf_counter(), time.process_time()
    r = detect_video(out, max_frames=25)
    print(f"detect 1 s of 720p video (decode + pool + search of {r.frames} frames): "
          f"{time.perf_counter() - t:.3f} s wall, {time.process_time() - c:.3f} s CPU; z = {r.score:.1f}")
    decoded = [f.image for f in open_media(out).frames()]
    t, c = time.perf_counter(), time.process_time()
    detect_frames(decoded)
    print(f"  of which pool + search (frames already decoded): {time.perf_counter() - t:.3f} s wall, "
          f"{time.process_time() - c:.3f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.5, help="seconds of each clip marked for robustness")
    ap.add_argument("--clips", type=int, default=None, help="only the first N dev videos for robustness")
    ap.add_argument("--skip-robustness", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cost(tmp)
        flat_fields()
        invisibility(tmp)
        false_positives()
        if not args.skip_robustness:
            robustness(args.seconds, args.clips, tmp)


if __name__ == "__main__":
    main()
