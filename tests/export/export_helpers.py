"""Helpers for the export tests: freshly initialised model folders and real faces with their frames."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def model_folder(root: Path, arch: str, options: dict, coverage: float = 0.75) -> Path:
    """A seeded, freshly initialised model folder (config.json + weights.safetensors) the reader accepts.

    Export fidelity does not depend on training, so these stand in for trained models of each arch.
    """
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


def faces_with_frames(face_dir: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame BGR, 478 landmarks in frame pixels) for ``count`` face PNGs spread over ``face_dir``."""
    import av

    from twoface.faces import align
    from twoface.store.metadata import list_face_files, read_face

    files = list_face_files(face_dir)
    picks = [files[round(i * (len(files) - 1) / max(count - 1, 1))] for i in range(count)]
    metas = [read_face(f)[1] for f in picks]
    wanted = {m.frame for m in metas}
    frames = {}
    with av.open(metas[0].source_path) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i in wanted:
                frames[i] = fr.to_ndarray(format="bgr24")
            if len(frames) == len(wanted):
                break
    return [(frames[m.frame], align.transform_points(m.landmarks_array(), align.invert(m.matrix_array())))
            for m in metas]
