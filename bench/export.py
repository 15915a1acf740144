"""Every architecture of the zoo exported to ONNX and DFM, checked by onnxruntime against torch on real faces.

For each architecture (at its smallest configuration, all with a learned mask; the
weights are a fresh seeded initialisation, which is what export fidelity depends on),
writes a model folder, exports it as onnx (fp32 and fp16) and as dfm, and prints the
max abs difference between onnxruntime and torch on dev faces of person A, with the
export's file size and CPU seconds. The test suite runs the same check on a subset
(tests/export/test_export_archs.py); this is the full table.

usage: .venv/bin/python bench/export.py [--archs original,iae,...] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))

# the smallest configuration of each architecture (fixed-width ones at their defaults)
SMALLEST = {
    "original": {"lowmem": True},
    "lightweight": {},
    "iae": {},
    "dfaker": {},
    "villain": {"lowmem": True},
    "realface": {"complexity_encoder": 16, "complexity_decoder": 64, "dense_nodes": 128},
    "dlight": {"features": "lowmem", "details": "fast", "output_size": 128},
    "custom": {"input_size": 64, "output_size": 64, "encoder_width": 16, "max_width": 128, "latent": 128,
               "decoder_width": 64},
}


def model_folder(root: Path, arch: str, options: dict, coverage: float = 0.75) -> Path:
    """A freshly initialised (seeded) model folder that the model-folder reader accepts."""
    import torch
    from safetensors.torch import save_file

    from twoface.models import build

    torch.manual_seed(0)
    model = build(arch, **options)
    folder = root / f"{arch}-{'mask' if model.learn_mask else 'nomask'}"
    folder.mkdir(parents=True, exist_ok=True)
    config = {"format": "twoface-model", "format_version": 1, "arch": arch, "options": dict(model.options),
              "input_size": model.input_size, "output_size": model.output_size, "learn_mask": model.learn_mask,
              "faces": {"coverage": coverage}}
    (folder / "config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "weights.safetensors"))
    return folder


def faces_of_a(root: Path) -> Path:
    """Faces of person A from the two-faces dev clip (its left half), extracted once."""
    from twoface.extract import extract

    out = root / "faces"
    if not out.is_dir():
        extract(DATA / "convert/two_faces_side_by_side.mp4", out, store=root / "faces.twoface.db", every=5,
                progress=False)
    return out


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(SMALLEST))
    ap.add_argument("--workdir")
    ap.add_argument("--only-onnx", action="store_true", help="the fp32 ONNX export only (a third of the time)")
    args = ap.parse_args()
    from twoface.export import export

    root = Path(args.workdir or tempfile.mkdtemp(prefix="twoface-bench-export-"))
    faces = faces_of_a(root)
    print(f"{'arch':12} {'options':48} {'onnx fp32':>10} {'onnx fp16':>10} {'dfm fp32':>10} {'MB':>6} {'cpu s':>6}")
    for arch in args.archs.split(","):
        options = {**SMALLEST[arch], "learn_mask": True}
        folder = model_folder(root, arch, options)
        c0, row = cpu(), []
        kinds = (("onnx", "onnx", False), ("fp16", "onnx", True), ("dfm", "dfm", False))
        for name, fmt, fp16 in kinds[:1] if args.only_onnx else kinds:
            out = folder / f"{name}.{fmt}"
            r = export(folder, out, fp16=fp16, check_faces=faces, overwrite=True)
            row.append(r.max_abs_diff)
        size = (folder / "onnx.onnx").stat().st_size / 1e6
        opts = ",".join(f"{k}={v}" for k, v in SMALLEST[arch].items()) or "(defaults)"
        cells = " ".join(f"{v:10.2e}" for v in row) + " " * 11 * (3 - len(row))
        print(f"{arch:12} {opts[:48]:48} {cells} {size:6.0f} {cpu() - c0:6.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
