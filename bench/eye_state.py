"""Why do the swaps' eyes read as shut? Reconstructions against swaps, by blendshape, on one model.

Every configuration bench/quality.py measured draws A's eyes shut (``eyeBlink`` +0.5 over the
source). Two explanations predict different things:

- the decoder cannot draw A's open eyes at this size and budget: then A's own *reconstructions*
  (A's face through A's decoder) read shut too, where the real A faces read open;
- the swap maps B's eye state onto A's closed eyes: then A's reconstructions read like the real A
  faces and only the swaps (B's face through A's decoder) read shut.

This script runs a trained model on face folders (the first ``--n`` evenly spaced faces of each),
reads each face, reconstruction and swap with the blendshape model ``evaluate`` uses
(``landmark_aligned``), and prints the mean eye and mouth blendshapes of each set and the expression
error (``metrics.expression_error``) of each output against its input face. The real faces are also
read after a round trip through the model's size (resize down and up), the best a model of that
size could draw. Nothing is trained; the judge is not involved.

usage: .venv/bin/python bench/eye_state.py MODEL --a FACES_A --b FACES_B [--n 48]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SHOWN = ("eyeBlink", "eyeLookDown", "eyeSquint", "eyeWide", "jawOpen", "mouthSmile", "browDown", "browInnerUp")


def evenly(items: list, n: int) -> list:
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def read_faces(folder: Path, n: int, size: int) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """(faces at their stored size, the same at the model's input size, coverage) of ``n`` faces."""
    import cv2

    from twoface.store.metadata import read_face

    full, small, coverage = [], [], None
    for f in evenly(sorted(folder.glob("*.png")), n):
        img, meta = read_face(f)
        coverage = float(meta.coverage) if coverage is None else coverage
        full.append(img)
        small.append(cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA))
    if coverage is None:
        raise SystemExit(f"{folder}: no face PNGs")
    return full, small, coverage


def blendshapes(lm, images: list[np.ndarray], coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """(52-column blendshapes of the faces the landmarker read, their indices in ``images``)."""
    from twoface.evaluate.faces import as_uint8, landmark_aligned

    rows, kept = [], []
    for i, img in enumerate(images):
        u8 = img if img.dtype == np.uint8 else as_uint8(img)
        res = landmark_aligned(lm, u8, coverage)
        if res is not None:
            rows.append(res.blendshapes)
            kept.append(i)
    return np.array(rows, np.float64).reshape(-1, 52), np.array(kept, int)


def summary(bs: np.ndarray) -> dict[str, float]:
    from twoface.faces.landmarks import BLENDSHAPE_NAMES

    out = {}
    for key in SHOWN:
        cols = [i for i, name in enumerate(BLENDSHAPE_NAMES) if name.startswith(key)]
        out[key] = float(bs[:, cols].mean()) if len(bs) else float("nan")
    return out


def paired_error(src: tuple[np.ndarray, np.ndarray], out: tuple[np.ndarray, np.ndarray]) -> float:
    """Expression error over the faces read in both the input set and the output set."""
    from twoface.evaluate.metrics import expression_error

    common = np.intersect1d(src[1], out[1])
    if not len(common):
        return float("nan")
    rows_of = [rows[np.searchsorted(kept, common)] for rows, kept in (src, out)]
    return float(expression_error(*rows_of))


def model_and_faces(doc: str, n: int) -> argparse.Namespace:
    """The arguments of the scripts that read one trained model on the dev pair's face folders."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--a", type=Path, required=True, help="face folder of A (the model's side a)")
    ap.add_argument("--b", type=Path, required=True, help="face folder of B (side b)")
    ap.add_argument("--n", type=int, default=n, help="faces per set (evenly spaced)")
    return ap.parse_args()


def main() -> int:
    import cv2

    from twoface.device import choose
    from twoface.faces.landmarks import Landmarker
    from twoface.models.swapper import Swapper

    args = model_and_faces(__doc__, 48)

    swapper = Swapper(args.model, choose("cpu", "auto"))
    size, out_size = swapper.framing.input_size, swapper.framing.output_size
    lines = []
    with Landmarker() as lm:
        for me, other, folder in (("a", "b", args.a), ("b", "a", args.b)):
            full, small, coverage = read_faces(folder, args.n, size)
            sets = {
                f"real {me.upper()}": full,
                f"real {me.upper()} at {out_size} px": [cv2.resize(cv2.resize(f, (out_size,) * 2, interpolation=cv2.INTER_AREA),
                                                                   f.shape[:2][::-1], interpolation=cv2.INTER_CUBIC) for f in full],
                f"{me.upper()}→{me.upper()} (reconstruction)": list(swapper(small, me)[0]),
                f"{me.upper()}→{other.upper()} (swap)": list(swapper(small, other)[0]),
            }
            read = {name: blendshapes(lm, imgs, coverage) for name, imgs in sets.items()}
            src = read[f"real {me.upper()}"]
            for name, bs in read.items():
                err = float("nan") if bs is src else paired_error(src, bs)
                lines.append((name, len(bs[0]), len(sets[name]), err, summary(bs[0])))
    head = f"{'set':34s} {'read':>7s} {'err vs input':>12s} " + " ".join(f"{k:>11s}" for k in SHOWN)
    print(head)
    for name, n_read, n_all, err, s in lines:
        err_s = "—" if np.isnan(err) else f"{err:.2f}"
        print(f"{name:34s} {n_read:3d}/{n_all:<3d} {err_s:>12s} " + " ".join(f"{s[k]:11.2f}" for k in SHOWN))
    print("read = faces the blendshape model found; err = mean L2 over 52 blendshapes against the same input face")
    return 0


if __name__ == "__main__":
    sys.exit(main())
