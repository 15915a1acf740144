"""Conversion speed on 720p with a 64 px model, next to a one-face-at-a-time baseline in the same run.

Makes a 720p H.264 clip by upscaling the dev clip of person A, extracts its
alignments store once (extraction is bench/extract.py's business), builds an
untrained `lightweight` model (64 px in and out; weights do not change speed),
then times on the same frames:
  baseline:  one thread, one face per model call, torch on one thread, the same
             crop/colour/mask/paste/watermark/encode steps (faceswap's old loop);
  twoface:   `twoface.convert.convert` (decode/crop, batched inference, blend/encode
             on three threads; torch on its default threads);
  onnx:      the same convert with ``engine="onnx"`` on the model exported by `twoface export`
             (onnxruntime, fp32; torch not used), so the two engines are measured side by side.
All write an H.264 video with the same writer settings. Target (issue 5): >= 25 frames/s.

usage: .venv/bin/python bench/convert.py [--seconds 6] [--batch-size 16] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from extract import make_720p  # noqa: E402  (bench/extract.py: the same 720p clip recipe)


def make_model(model_dir: Path) -> Path:
    """An untrained lightweight model folder that load_model accepts."""
    import torch

    from twoface.models import build
    from twoface.train import checkpoint as ck

    torch.manual_seed(0)
    model = build("lightweight")
    config = {"format": ck.FORMAT, "format_version": ck.FORMAT_VERSION, "arch": model.arch,
              "options": dict(model.options), "input_size": model.input_size, "output_size": model.output_size,
              "learn_mask": model.learn_mask, "faces": {"coverage": 0.75, "size": 128}}
    ck.save_checkpoint(model_dir, config, model.state_dict(), {}, {}, {"iteration": 0, "seed": 0}, None)
    return model_dir


def baseline(clip: Path, store: Path, model_dir: Path, out: Path) -> tuple[int, float]:
    """Sequential conversion: every step for one face, then the next; returns (frames, seconds)."""
    import torch

    from twoface.convert.faces import FaceSource
    from twoface.convert.frame import Finisher, FrameJob, face_matrices, prepare
    from twoface.convert.options import ConvertOptions
    from twoface.device import choose
    from twoface.media import open_media
    from twoface.media.writer import open_writer
    from twoface.models.swapper import Swapper

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        opts = ConvertOptions(batch_size=1)
        swapper = Swapper(model_dir, choose("auto", "auto"))
        finish = Finisher(opts, swapper.framing)
        media = open_media(clip)
        faces = FaceSource(clip, store, opts)
        info = media.info
        t0 = time.perf_counter()
        n = 0
        with open_writer(out, "video", fps=info.rate or info.fps, size=(info.width, info.height),
                         time_base=info.time_base, watermark=True,
                         preset=ConvertOptions.preset) as writer:  # the same encoder settings as convert
            for frame in media.frames():
                found = faces.stored(frame.index)
                job = FrameJob(frame.index, frame.time, frame.name, frame.image)
                job.faces = prepare(frame.image, found, face_matrices(found, swapper.framing), swapper.framing, opts)
                for fj in job.faces:
                    y, m = swapper([fj.crop], opts.side)
                    fj.face, fj.learned_mask = y[0], None if m is None else m[0]
                job.convert = bool(job.faces)
                writer.write(finish(job) if job.convert else frame.image, frame.index, time=frame.time)
                n += 1
        faces.close()
        return n, time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)


def model_only(model_dir: Path, batch_size: int, faces: int = 64, onnx_file: Path | None = None) -> float:
    """Faces/s of the model alone (batched, autocast; or the ONNX export): the ceiling for a converter."""
    import numpy as np

    if onnx_file is not None:
        from twoface.models.onnx_engine import OnnxSwapper

        sw = OnnxSwapper(onnx_file)
    else:
        from twoface.device import choose
        from twoface.models.swapper import Swapper

        sw = Swapper(model_dir, choose("auto", "auto"))
    crops = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(batch_size)]
    sw(crops, "b")  # warm-up (oneDNN primitives)
    t0 = time.perf_counter()
    done = 0
    while done < faces:
        sw(crops, "b")
        done += batch_size
    return done / (time.perf_counter() - t0)


def provenance_cost(clip: Path, out: Path) -> tuple[float, float, float]:
    """(embed ms/frame wall, embed ms/frame CPU, C2PA signing s for ``out``): the marks' share of convert."""
    import shutil

    from twoface.media import open_media
    from twoface.media.provenance import available, sign_file
    from twoface.media.watermark import embed

    frames = [f.image for _, f in zip(range(50), open_media(clip).frames())]
    embed(frames[0])
    t, c = time.perf_counter(), time.process_time()
    for f in frames:
        embed(f)
    wall, cpu = (time.perf_counter() - t) / len(frames) * 1e3, (time.process_time() - c) / len(frames) * 1e3
    sign = float("nan")
    if available():
        copy = out.with_name("sign-" + out.name)
        shutil.copyfile(out, copy)
        t = time.perf_counter()
        sign_file(copy, out.name, out.suffix)  # a second signature on a copy: the same work convert did
        sign = time.perf_counter() - t
    return wall, cpu, sign


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of the 720p clip (default: 6)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="twoface-bench-convert-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = work / "clip720.mp4"
    if not clip.exists():
        frames = make_720p(clip, args.seconds)
        print(f"made {clip} ({frames} frames, 1280x720)")
    from twoface.convert import convert
    from twoface.extract import extract

    store = work / "clip720.twoface.db"
    if not store.exists():
        extract(clip, None, store=store, progress=False)
    model = make_model(work / "model") if not (work / "model" / "config.json").exists() else work / "model"

    n_base, t_base = baseline(clip, store, model, work / "baseline.mp4")
    r = convert(clip, model, work / "twoface.mp4", store=store, batch_size=args.batch_size, overwrite=True,
                progress=False)
    from twoface.export import export

    onnx_file = work / "model.onnx"
    if not onnx_file.exists():
        export(model, onnx_file)  # self-checked (on seeded noise: this untrained model has no face folder)
    r_onnx = convert(clip, onnx_file, work / "onnx.mp4", store=store, batch_size=args.batch_size, overwrite=True,
                     progress=False, engine="onnx")
    base_fps, fast_fps, onnx_fps = n_base / t_base, r.frames / r.seconds, r_onnx.frames / r_onnx.seconds
    ceiling = model_only(model, args.batch_size)
    ceiling_onnx = model_only(model, args.batch_size, onnx_file=onnx_file)
    print(f"720p, 64 px lightweight model, {r.frames} frames, {r.faces} faces (store given; watermark + H.264)")
    print(f"baseline (one face at a time, single-threaded): {base_fps:6.1f} frames/s")
    print(f"{'':48} {'torch':>8} {'onnx':>8}")
    print(f"{'twoface convert (batched, 3-stage pipeline)':48} {fast_fps:8.1f} {onnx_fps:8.1f}  frames/s")
    print(f"{'the model alone (batch ' + str(args.batch_size) + ', no decode/blend/encode)':48} {ceiling:8.1f} "
          f"{ceiling_onnx:8.1f}  faces/s")
    print(f"ratio to the baseline: torch {fast_fps / base_fps:.2f}x, onnx {onnx_fps / base_fps:.2f}x; "
          f"onnx/torch {onnx_fps / fast_fps:.2f}x")
    print(f"target: >= 25 frames/s -> torch {'met' if fast_fps >= 25 else 'NOT met'}, "
          f"onnx {'met' if onnx_fps >= 25 else 'NOT met'}")
    wall, cpu, sign = provenance_cost(clip, work / "twoface.mp4")
    print(f"watermark embed: {wall:.2f} ms/frame wall, {cpu:.2f} ms/frame CPU at 720p "
          f"({wall / (1e3 / fast_fps) * 100:.1f} % of a converted frame); C2PA signing of the output: "
          f"{sign:.3f} s (bench/watermark.py has the detection cost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
