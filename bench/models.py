"""Training-step speed of the model zoo: fp32 eager vs bf16 autocast + channels_last.

Prints faces/s counting A and B (one step = a batch of A through decoder A and
a batch of B through decoder B, forward + backward, optionally + Adam step),
for each architecture asked, with the bf16/fp32 ratio measured in the same run.
It also prints faces per CPU-second (process time), which stays meaningful on
a machine shared with other jobs, where wall-clock figures are not; use
``--threads 1`` for the steadiest CPU-time figure.

    .venv/bin/python bench/models.py original lightweight --batch 16 --steps 3
"""
from __future__ import annotations

import argparse
import time

import torch

from twoface.models import ARCHS, build


def faces_per_second(arch: str, batch: int, steps: int, bf16: bool, optimizer: bool) -> tuple[float, float]:
    """(faces per wall-clock second, faces per CPU-second of this process)."""
    torch.manual_seed(0)
    model = build(arch)
    if bf16:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=5e-5) if optimizer else None
    size = model.input_size
    layout = torch.channels_last if bf16 else torch.contiguous_format
    xa = torch.rand(batch, 3, size, size).contiguous(memory_format=layout)
    xb = torch.rand(batch, 3, size, size).contiguous(memory_format=layout)
    ta = torch.rand(batch, model.out_channels, model.output_size, model.output_size)
    tb = torch.rand_like(ta)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            ya, yb = model(xa, "a"), model(xb, "b")
        loss = torch.nn.functional.mse_loss(ya, ta) + torch.nn.functional.mse_loss(yb, tb)
        loss.backward()
        if opt is not None:
            opt.step()
        model.zero_grad(set_to_none=True)

    step()  # warm-up: oneDNN primitive creation, allocator
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    faces = 2 * batch * steps
    return faces / (time.perf_counter() - start), faces / (time.process_time() - cpu)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("archs", nargs="*", default=["original", "lightweight"], choices=list(ARCHS),
                   help="architectures to measure (default: original lightweight)")
    p.add_argument("--batch", type=int, default=16, help="faces per side per step (default 16)")
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up (default 3)")
    p.add_argument("--adam", action="store_true", help="include an Adam step in each training step")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"threads={torch.get_num_threads()} batch={args.batch} steps={args.steps} adam={args.adam}")
    for arch in args.archs:
        fp32, fp32_cpu = faces_per_second(arch, args.batch, args.steps, bf16=False, optimizer=args.adam)
        bf16, bf16_cpu = faces_per_second(arch, args.batch, args.steps, bf16=True, optimizer=args.adam)
        print(f"{arch:12s} fp32 eager {fp32:6.1f} faces/s ({fp32_cpu:5.1f}/CPU-s)   "
              f"bf16+channels_last {bf16:6.1f} faces/s ({bf16_cpu:5.1f}/CPU-s)   "
              f"ratio {bf16 / fp32:4.2f}x wall, {bf16_cpu / fp32_cpu:4.2f}x CPU", flush=True)


if __name__ == "__main__":
    main()
