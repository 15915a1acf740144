"""Random-number-generator states as JSON, so a resumed run draws the same numbers.

Why JSON and not ``torch.save``: state.json is shared with the model folder and must never
need pickle to read. torch generator states are byte tensors, stored as base64; numpy's and
Python's states are tuples of integers, stored as lists.
"""
from __future__ import annotations

import base64
import random

import numpy as np
import torch


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8).clone()


def generator_state(gen: torch.Generator) -> str:
    """A torch.Generator's state (CPU or CUDA) as base64 text."""
    return _b64(gen.get_state())


def set_generator_state(gen: torch.Generator, state: str) -> None:
    gen.set_state(_unb64(state))


def capture() -> dict:
    """The global torch, CUDA, numpy and Python RNG states of this process."""
    np_state = np.random.get_state(legacy=False)
    py_version, py_internal, py_gauss = random.getstate()
    out = {
        "torch": _b64(torch.get_rng_state()),
        "numpy": {"bit_generator": np_state["bit_generator"],
                  "key": [int(k) for k in np_state["state"]["key"]],
                  "pos": int(np_state["state"]["pos"]),
                  "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])},
        "python": [py_version, list(py_internal), py_gauss],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    return out


def restore(state: dict) -> None:
    """Put back what :func:`capture` saved. Unknown or missing parts are left alone."""
    if "torch" in state:
        torch.set_rng_state(_unb64(state["torch"]))
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state({"bit_generator": n["bit_generator"],
                             "state": {"key": np.asarray(n["key"], dtype=np.uint32), "pos": n["pos"]},
                             "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        states = [_unb64(s) for s in state["cuda"]]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python from one number."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
