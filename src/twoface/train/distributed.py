"""Multi-process training under ``torchrun``: process group, DDP wrapping, and rank-0-only chores.

Why DDP and not threads: each process owns its cores and its data shard, and only gradients
cross process boundaries (one all-reduce per step). gloo on CPU, nccl on CUDA. Every rank
draws different batches (its seed is offset by its rank); DDP keeps the weights equal, since
every rank starts from rank 0's weights and applies the same averaged gradients.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import Runtime
from ..errors import TwofaceError

TORCHRUN_HINT = ("run it under torchrun, for example: "
                 "torchrun --nproc_per_node 2 -m twoface.cli train --distributed ...")


@dataclass(frozen=True)
class Group:
    """This process's place in the job. A single process is rank 0 of a world of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def setup(distributed: bool, runtime: Runtime) -> tuple[Group, Runtime]:
    """Join the torchrun job (when ``distributed``) and return (group, runtime for this rank)."""
    if not distributed:
        return Group(), runtime
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise TwofaceError(f"--distributed needs the environment torchrun sets (RANK, WORLD_SIZE); {TORCHRUN_HINT}")
    group = Group(rank=_env_int("RANK", 0), world_size=_env_int("WORLD_SIZE", 1),
                  local_rank=_env_int("LOCAL_RANK", 0), local_world_size=_env_int("LOCAL_WORLD_SIZE", 1))
    if runtime.device.type == "cuda":
        torch.cuda.set_device(group.local_rank)
        runtime = dataclasses.replace(runtime, device=torch.device("cuda", group.local_rank))
        backend = "nccl"
    elif runtime.device.type == "cpu":
        backend = "gloo"
    else:
        raise TwofaceError(f"--distributed supports cpu (gloo) and cuda (nccl), not {runtime.device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=group.rank, world_size=group.world_size,
                                timeout=datetime.timedelta(minutes=30))
    return group, runtime


def set_threads(group: Group) -> int:
    """Share this machine's cores among the ranks on it (torch's default would oversubscribe).

    An explicit ``OMP_NUM_THREADS`` wins: the user (or a test runner sharing the machine) knows best.
    """
    explicit = _env_int("OMP_NUM_THREADS", 0)
    if explicit > 0:
        threads = explicit
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // max(1, group.local_world_size))
    torch.set_num_threads(threads)
    return threads


def weights_digest(module: torch.nn.Module) -> str:
    """sha256 of every tensor of a state dict, in key order, as float32 bytes (a cross-rank check)."""
    h = hashlib.sha256()
    for key, value in module.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def wrap(module: torch.nn.Module, group: Group, runtime) -> torch.nn.Module:
    """DistributedDataParallel around ``module`` when distributed, else the module itself."""
    if not group.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [runtime.device.index] if runtime.device.type == "cuda" else None
    return DDP(module, device_ids=ids)


def any_flag(flag: bool, group: Group) -> bool:
    """True on every rank if any rank raised ``flag`` (stop requests must be agreed, or DDP hangs)."""
    return any_flags([flag], group)[0]


def any_flags(flags: list[bool], group: Group) -> list[bool]:
    """:func:`any_flag` for several flags in one all-reduce."""
    if not group.enabled:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def mean_scalars(values: dict[str, float], group: Group) -> dict[str, float]:
    """Average named floats over ranks, so rank 0 logs the job's losses, not only its own."""
    if not group.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: float(v) / group.world_size for k, v in zip(keys, t.tolist())}


def gather(obj, group: Group) -> list:
    """Every rank's JSON-able ``obj``, in rank order, on every rank (for per-rank data states)."""
    if not group.enabled:
        return [obj]
    out: list = [None] * group.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(group: Group) -> None:
    if group.enabled:
        dist.barrier()


def teardown(group: Group) -> None:
    if group.enabled and dist.is_initialized():
        dist.destroy_process_group()
