"""convert --engine onnx: the same pipeline on onnxruntime, the same video as torch, and no torch at all."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from convert.convert_fixtures import tiny_model  # noqa: F401  (fixture: custom 64 px, learned mask, 30 iterations)
from convert.convert_helpers import decode_all, psnr
from twoface_testing import REPO

pytest.importorskip("onnxruntime", reason="the export extra is part of CI's install (scripts/setup.sh)")
pytest.importorskip("onnx", reason="the export extra is part of CI's install (scripts/setup.sh)")

CLIP = "convert/two_faces_side_by_side.mp4"
# onnxruntime fp32 against torch fp32, per frame after H.264: identical frames (inf), or one where a face
# pixel's float rounding lands on the other side of a uint8 step and x264 encodes that frame (and the
# P-frames after it) differently; the worst such frame moves with each retrained tiny model (measured:
# >= 70 dB, then 59.6 dB, then 52.5 dB on one frame of 50). A real engine bug (colour order, scale,
# framing) puts every frame under 40 dB.
MIN_PSNR = 45.0

BLOCKER = textwrap.dedent('''
    import sys

    class _NoTorch:
        """Any import of torch fails, as on a machine where it is not installed."""

        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, _NoTorch())
''')


@pytest.fixture(scope="module")
def setup(tiny_model, faces_a, data_dir, tmp_path_factory):
    """The tiny model exported to ONNX, and the two-faces clip's alignments store (extracted once)."""
    from twoface.export import export
    from twoface.extract import extract

    root = tmp_path_factory.mktemp("engine")
    onnx_file = export(tiny_model, root / "tiny.onnx", check_faces=faces_a, check_count=4).output
    store = root / "two_faces.twoface.db"
    extract(data_dir / CLIP, None, store=store, progress=False)
    return root, onnx_file, store


def test_onnx_engine_gives_the_torch_engines_video(setup, tiny_model, data_dir):
    from twoface.convert import convert
    from twoface.media.label import read_label
    from twoface.media.watermark import detect

    root, onnx_file, store = setup
    clip = data_dir / CLIP
    by_torch = convert(clip, tiny_model, root / "torch.mp4", store=store, precision="fp32", progress=False)
    by_onnx = convert(clip, onnx_file, root / "onnx.mp4", store=store, engine="onnx", progress=False)
    assert by_onnx.frames == by_torch.frames == 50 and by_onnx.faces == by_torch.faces == 100
    src, _, _ = decode_all(clip)
    a, ta, fa = decode_all(by_torch.output)
    b, tb, fb = decode_all(by_onnx.output)
    assert len(a) == len(b) == len(src) and ta == tb and fa == fb
    assert read_label(by_onnx.output) == read_label(by_torch.output) and \
        read_label(by_onnx.output)["tag"].startswith("synthetic:twoface/")
    assert all(detect(b[i]).found for i in (0, 25, 49))
    values = [psnr(x, y) for x, y in zip(a, b)]
    assert min(values) >= MIN_PSNR, min(values)
    assert np.mean([psnr(x, y) for x, y in zip(src, b)]) < 40  # and the faces really were swapped


def test_convert_with_the_onnx_engine_never_imports_torch(setup, data_dir, tmp_path):
    root, onnx_file, store = setup
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO / "src")])}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr  # the blocker works
    out = tmp_path / "no_torch.mp4"
    run = subprocess.run([sys.executable, "-m", "twoface.cli", "convert", str(data_dir / CLIP), "-m", str(onnx_file),
                          "--engine", "onnx", "--store", str(store), "-o", str(out), "--no-progress"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "50 frames written (50 with swapped faces, 100 faces" in run.stdout
    got, _, _ = decode_all(out)
    ref, _, _ = decode_all(root / "onnx.mp4") if (root / "onnx.mp4").exists() else (None, None, None)
    assert len(got) == 50 and (ref is None or min(psnr(x, y) for x, y in zip(got, ref)) >= MIN_PSNR)
    # and the torch engine, in the same torch-less environment, says what is missing in one line
    run = subprocess.run([sys.executable, "-m", "twoface.cli", "convert", str(data_dir / CLIP), "-m",
                          str(Path(onnx_file).parent), "-o", str(tmp_path / "t.mp4")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 3 and "--engine onnx" in run.stderr and len(run.stderr.strip().splitlines()) == 1
