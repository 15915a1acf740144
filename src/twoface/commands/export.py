"""Export a trained model as ONNX, or as a DeepFaceLive / FaceFusion DFM file.

The graph is one direction of the model (the shared encoder and the target decoder),
checked before it is written: onnxruntime's output against torch's on real faces
(the model's training faces, or --check-faces), max abs difference at most 1e-3 in
fp32. Every file carries twoface metadata (version, architecture, sizes, coverage,
colour order, value range, the synthetic-media label) in its metadata_props.

  onnx: input "face" (N, 3, S, S) float32 RGB in [0, 1]; outputs "swapped_face"
        (N, 3, O, O) and, for models trained with --learn-mask, "swapped_mask" (N, 1, O, O).
        opset 17, dynamic batch. `twoface convert --engine onnx` runs it without torch.
  dfm:  DeepFaceLive's contract: input "in_face" (N, R, R, 3) float32 BGR in [0, 1];
        outputs out_face_mask, out_celeb_face, out_celeb_face_mask (N, R, R, 1|3).
        The graph takes DeepFaceLive's face crop (default coverage 2.2) and reframes it
        to the model's own crop inside; models without a learned mask get a fixed soft
        face-shaped mask.

examples:
  twoface export models/ab -o ab.onnx
  twoface export models/ab -o ab_b2a.onnx --direction b2a --fp16
  twoface export models/ab -o ab.dfm                      # for DeepFaceLive at its default framing
  twoface export models/ab -o ab.dfm --dfm-coverage model # crop as trained; prints DeepFaceLive settings
"""
from __future__ import annotations

import argparse

from ..export.options import ExportOptions
from ..options import add_options, values_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="the trained model folder (from `twoface train`)")
    p.add_argument("-o", "--output", required=True, help="the file to write: NAME.onnx or NAME.dfm")
    add_options(p, ExportOptions)


def run(args: argparse.Namespace) -> int:
    from ..export import export

    r = export(args.model, args.output, **values_from(ExportOptions, args))
    outs = ", ".join(f"{k} {tuple(v)}" for k, v in r.outputs.items())
    print(f"{r.output}: {r.format} export of {r.arch} ({r.direction}, {r.precision}, opset {r.opset}, "
          f"IR {r.ir_version}) in {r.seconds:.1f} s")
    print(f"  input {tuple(r.input_shape)} -> {outs}; mask: {r.mask}")
    line = f"  self-check: onnxruntime vs torch max abs diff {r.max_abs_diff:.2e} (allowed {r.tolerance:g})"
    if r.fp16_twin_diff is not None:
        line += f"; vs the fp16 torch model {r.fp16_twin_diff:.2e}"
    print(f"{line} on {r.checked_on}")
    if r.dfl_settings.get("framing") == "model":
        d = r.dfl_settings
        print(f"  DeepFaceLive: set the face aligner to coverage {d['coverage']}, X offset {d['x_offset']}, "
              f"Y offset {d['y_offset']} (the model's own crop)")
    elif r.dfl_settings:
        d = r.dfl_settings
        print(f"  DeepFaceLive: use the face aligner at coverage {d['coverage']:g}, X offset {d['x_offset']:g}, "
              f"Y offset {d['y_offset']:g} (what this DFM was made for)")
    print("the model makes synthetic faces; use it only with the consent of the people shown")
    return 0
