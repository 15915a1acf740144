"""What holds the swap's sharpness down? Fit, generalisation or the swap itself, on one trained model.

Every configuration bench/quality.py measured stops near 0.4 of a real face's sharpness (the ratio
``twoface evaluate`` reports), and the 30-minute curves are flat after 1,500 iterations. Three
explanations predict different readings:

- the decoder does not yet *fit* its own training faces: then its reconstructions of faces it trained
  on are as soft as those of held-out faces, and only more optimisation (iterations, a GPU) helps;
- it fits them but does not *generalise*: training reconstructions sharp, held-out ones soft, and
  more (or more varied) data is the lever;
- it reconstructs well but the *swap* is softer: the decoder draws detail only for its own person's
  codes (what ``--true-face`` aims at).

For each side this prints the sharpness ratio (``metrics.sharpness_ratio``, inside the face mask,
against real faces of that person at the model's output size) of the reconstructions of training
faces and of held-out faces, and of the swaps of held-out faces (against the other person's real
faces). To read the ratios, the held-out real faces blurred with a Gaussian of a few widths are
measured the same way: a ratio is then "as sharp as a real face blurred by sigma pixels at this size".
Nothing is trained; the judge is not involved.

usage: .venv/bin/python bench/sharpness_limit.py MODEL --a FACES_A --b FACES_B [--n 96]
"""
from __future__ import annotations

import sys

import numpy as np
from eye_state import model_and_faces  # bench/ is sys.path[0] when this runs as a script

SIGMAS = (0.5, 0.75, 1.0, 1.5)


def main() -> int:
    import cv2

    from twoface.device import choose
    from twoface.evaluate import metrics
    from twoface.evaluate.faces import as_uint8, evenly, face_mask, load_faces, split_files, to_size
    from twoface.models.swapper import Swapper

    args = model_and_faces(__doc__, 96)

    swapper = Swapper(args.model, choose("cpu", "auto"))
    size, out = swapper.framing.input_size, swapper.framing.output_size
    sets: dict[str, dict] = {}
    for side, folder in (("a", args.a), ("b", args.b)):
        held, train, how = split_files(folder, args.model, swapper.config, args.n)
        sets[side] = {"held": load_faces(held), "train": load_faces(evenly(train, args.n)), "how": how}

    def at_out(h) -> tuple[list[np.ndarray], list[np.ndarray | None], list[np.ndarray]]:
        imgs = [to_size(im, out) for im in h.images]
        masks = [face_mask(p * (out / im.shape[0]), out) for p, im in zip(h.landmarks, h.images)]
        return imgs, masks, [to_size(im, size) for im in h.images]

    views = {side: {name: at_out(sets[side][name]) for name in ("train", "held")} for side in sets}
    rows = []
    for side, other in (("a", "b"), ("b", "a")):
        me, you = side.upper(), other.upper()
        ref = views[side]["train"][:2]  # the person's real faces, as evaluate's reference
        ref_other = views[other]["train"][:2]
        for name in ("train", "held"):
            imgs, masks, crops = views[side][name]
            recon = [as_uint8(r) for r in swapper(crops, side)[0]]
            what = "training" if name == "train" else "held-out"
            rows.append((f"{me}→{me} on {what} faces", metrics.sharpness_ratio(recon, masks, *ref)["ratio"]))
        imgs, masks, crops = views[side]["held"]
        swaps = [as_uint8(s) for s in swapper(crops, other)[0]]
        rows.append((f"{me}→{you} on held-out faces", metrics.sharpness_ratio(swaps, masks, *ref_other)["ratio"]))
        rows.append((f"real {me} held-out", metrics.sharpness_ratio(imgs, masks, *ref)["ratio"]))
        for s in SIGMAS:
            blurred = [cv2.GaussianBlur(im, (0, 0), s) for im in imgs]
            rows.append((f"real {me} held-out, blur σ {s:g} px", metrics.sharpness_ratio(blurred, masks, *ref)["ratio"]))
    print(f"model {args.model} ({out} px out); split A: {sets['a']['how']}; B: {sets['b']['how']}")
    for name, ratio in rows:
        print(f"{name:36s} {ratio:6.2f}" if ratio is not None else f"{name:36s}    —")
    print("ratio = sharpness inside the face mask over that of the person's real training faces at the same size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
