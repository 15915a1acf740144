"""Device and precision choice, in one place, so every stage agrees.

Why automatic: most users do not know whether their CPU has bf16 units or
their GPU has tensor cores; the right answer is measurable, so we pick it.
``--device`` and ``--precision`` override.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import TypeVar

import torch

from .errors import TwofaceError
from .options import DEVICES, PRECISIONS  # declared with the --device/--precision flags

_M = TypeVar("_M", bound=torch.nn.Module)


@dataclass(frozen=True)
class Runtime:
    """Where and how tensors run. ``autocast()`` is the single AMP switch."""

    device: torch.device
    precision: str  # fp32 | bf16 | fp16
    channels_last: bool

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """fp16 needs loss scaling; bf16 and fp32 do not (the scaler is then a no-op)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    def prepare(self, module: _M) -> _M:
        """The module on this device, in channels-last layout where that is faster (the same object, moved)."""
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it
        return module

    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def describe(self) -> str:
        layout = ", channels_last" if self.channels_last else ""
        return f"{self.device.type} {self.precision}{layout}"


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 math (AVX512-BF16 or AMX), where autocast pays off."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def choose(device: str = "auto", precision: str = "auto") -> Runtime:
    """Resolve ``auto`` choices to a concrete Runtime, refusing impossible requests clearly."""
    if device not in DEVICES:
        raise TwofaceError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise TwofaceError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise TwofaceError("--device cuda was asked for, but this torch build sees no CUDA GPU")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TwofaceError("--device mps was asked for, but MPS is not available here")
    if precision == "auto":
        if device == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif device == "cpu":
            precision = "bf16" if cpu_has_bf16() else "fp32"
        else:
            precision = "fp16"
    if precision == "fp16" and device == "cpu":
        raise TwofaceError("fp16 is not supported on CPU; use bf16 or fp32")
    channels_last = device == "cuda" or (device == "cpu" and precision == "bf16")
    return Runtime(torch.device(device), precision, channels_last)
