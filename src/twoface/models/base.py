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
    # the top-level parts that belong to one identity (state-dict prefixes); the rest is shared
    SIDE_PARTS: ClassVar[dict[str, tuple[str, ...]]] = {"a": (), "b": ()}

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__()
        self.options: dict[str, Any] = self.resolve(resolve_options(self.arch, self.OPTIONS, options or {}))
        self.learn_mask: bool = bool(self.options["learn_mask"])
        self.input_size: int = 0
        self.output_size: int = 0
        self.generic: bool = False  # a pretrain prior: side a's parts serve every face (make_generic)

    @classmethod
    def resolve(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Fill auto options and check combinations; the default accepts everything."""
        return options

    @property
    def out_channels(self) -> int:
        return 4 if self.learn_mask else 3

    def make_generic(self) -> None:
        """Turn the model into a pretrain prior: one generic decoder (side a's parts) for every face.

        Side b's parts are dropped rather than tied, so a prior's weights hold the decoder once
        and its state dict has the same names and shapes however it is rebuilt (realface and
        dlight give B a larger decoder than A: a prior keeps A's). ``decode(z, "b")`` then uses
        side a's parts, so the trainer's two halves of a batch both train the one decoder.
        """
        for name in self.SIDE_PARTS["b"]:
            delattr(self, name)
        self.generic = True

    def side_of(self, side: str) -> str:
        """The side whose parts render ``side``: itself, or "a" in a generic prior."""
        check_side(side)
        return "a" if self.generic else side

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

    SIDE_PARTS = {"a": ("decoder_a",), "b": ("decoder_b",)}

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
        return (self.decoder_a if self.side_of(side) == "a" else self.decoder_b)(z)
