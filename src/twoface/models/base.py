"""The one interface every swap model offers the trainer and the converter.

A swap model is a shared encoder plus one decoder per identity. Trained on
warped faces of A (through decoder A) and of B (through decoder B), the encoder
learns pose and expression common to both; at conversion time A's encoding is
decoded by B's decoder, which renders B with A's pose and expression.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from .options import Option, resolve_options

SIDES = ("a", "b")


def check_side(side: str) -> str:
    """Refuse anything but 'a' or 'b' (a programming error, not a user one)."""
    if side not in SIDES:
        raise ValueError(f"side must be 'a' or 'b', not {side!r}")
    return side


class SwapModel(nn.Module):
    """Base of every architecture.

    Attributes the trainer relies on:
    ``arch`` (registry name), ``options`` (every option that shapes the network,
    resolved, JSON-able: ``build(arch, **model.options)`` rebuilds the same
    shapes), ``input_size``, ``output_size``, ``learn_mask``.
    Subclasses declare ``OPTIONS`` and build their parts in ``__init__``;
    ``resolve`` may fill "auto" options and refuse bad combinations.
    """

    arch: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__()
        self.options: dict[str, Any] = self.resolve(resolve_options(self.arch, self.OPTIONS, options or {}))
        self.learn_mask: bool = bool(self.options["learn_mask"])
        self.input_size: int = 0
        self.output_size: int = 0

    @classmethod
    def resolve(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Fill auto options and check combinations; the default accepts everything."""
        return options

    @property
    def out_channels(self) -> int:
        return 4 if self.learn_mask else 3

    @property
    def parts(self) -> dict[str, nn.Module]:
        """The named top-level parts (the state-dict key prefixes)."""
        return dict(self.named_children())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor, side: str) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, side: str) -> torch.Tensor:
        """Render faces ``x`` (N×3×in×in RGB in [0, 1]) as identity ``side``: N×(3|4)×out×out."""
        return self.decode(self.encode(x), side)

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}, {self.input_size}→{self.output_size} px, options={self.options}"


class SharedEncoderModel(SwapModel):
    """The classic layout: ``encoder`` shared by both sides, ``decoder_a`` and ``decoder_b``.

    Subclasses call ``self.set_parts(encoder, decoder_a, decoder_b)``; each
    decoder ends in an ``OutputHead`` so the mask channel is automatic.
    """

    def set_parts(self, encoder: nn.Module, decoder_a: nn.Module, decoder_b: nn.Module,
                  input_size: int, output_size: int) -> None:
        self.encoder = encoder
        self.decoder_a = decoder_a
        self.decoder_b = decoder_b
        self.input_size = input_size
        self.output_size = output_size

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, side: str) -> torch.Tensor:
        return (self.decoder_a if check_side(side) == "a" else self.decoder_b)(z)
