"""Does bf16 autocast change what a training step learns? Gradients of the same batch, bf16 against fp32.

A cheap stand-in for a full fp32 training run: the same weights (a trained checkpoint, or a fresh
model) and the same augmented batches of the dev pair, one forward and backward under bf16 autocast
and one in fp32; prints the cosine between the two gradients (all parameters, and the worst single
tensor) and the two losses. Cosine near 1 means bf16 steps go where fp32 steps go. bf16 is the
baseline measured here, fp32 the reference.

usage: .venv/bin/python bench/precision.py [--model bench/out/quality/runs/baseline@367it/model] [--batches 4]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="a trained model folder (default: a fresh lightweight)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "quality")
    p.add_argument("--batches", type=int, default=4)
    a = p.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "src"))
    import quality
    import torch

    from twoface.data import Augmenter, FaceSet
    from twoface.device import choose
    from twoface.models import build
    from twoface.train.losses import build_loss
    from twoface.train.step import Pair

    f = quality.faces(a.out)
    torch.manual_seed(0)
    if a.model is not None:
        from twoface.models.folder import load_model

        model, _ = load_model(a.model, choose("cpu", "fp32"))
    else:
        model = build("lightweight")
    model.train()
    sets = [FaceSet(f[s], 64).train for s in ("a", "b")]
    aug = Augmenter(64, 64)
    loss_fn = build_loss("ssim:1,mse:1")
    net = Pair(model)
    rows = []
    for i in range(a.batches):
        g = torch.Generator().manual_seed(i)
        idx = [torch.randint(len(s.images), (16,), generator=g) for s in sets]
        ba, bb = (aug(s.images[j], s.masks[j], s.landmarks[j], g) for s, j in zip(sets, idx))
        grads, losses = {}, {}
        for prec in ("fp32", "bf16"):
            model.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                pa, pb = net(ba.warped, bb.warped)
            loss = loss_fn(pa, ba.target, None, ba.weights)[0] + loss_fn(pb, bb.target, None, bb.weights)[0]
            loss.backward()
            grads[prec] = [q.grad.detach().flatten().double() for q in model.parameters() if q.grad is not None]
            losses[prec] = float(loss.detach())
        flat = {k: torch.cat(v) for k, v in grads.items()}
        total = float(torch.nn.functional.cosine_similarity(flat["fp32"], flat["bf16"], dim=0))
        per = [float(torch.nn.functional.cosine_similarity(x, y, dim=0)) for x, y in zip(grads["fp32"], grads["bf16"])
               if x.norm() > 0]
        rows.append((total, min(per), losses["fp32"], losses["bf16"]))
        print(f"batch {i}: gradient cosine bf16/fp32 {total:.4f} (worst tensor {min(per):.4f}); "
              f"loss fp32 {losses['fp32']:.5f}, bf16 {losses['bf16']:.5f}")
    mean = [sum(r[k] for r in rows) / len(rows) for k in range(4)]
    print(f"mean: gradient cosine {mean[0]:.4f}, worst tensor {mean[1]:.4f}, loss fp32 {mean[2]:.5f} bf16 {mean[3]:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
