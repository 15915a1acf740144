"""Helpers of the reliability tests: hashes of trees, the CLI in-process, face PNGs made hostile."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from collections import Counter
from pathlib import Path

# fuzz cases run per contract in this process (summed over xdist workers by conftest.py)
CASES: Counter = Counter()
TINY = {"input_size": 64, "output_size": 64, "encoder_width": 8, "max_width": 32, "latent": 32, "decoder_width": 32}


def fuzz_cases(default: int = 1000) -> int:
    """Cases per contract: 1,000 in CI; TWOFACE_FUZZ_CASES=N for a longer (nightly) run."""
    return int(os.environ.get("TWOFACE_FUZZ_CASES", default))


def record_cases(contract: str, n: int = 1) -> None:
    CASES[contract] += n
    path = os.environ.get("TWOFACE_FUZZ_COUNTS")
    if path:  # one line per case batch, so xdist workers add up in the controller's summary
        with open(path, "a") as fh:
            fh.write(json.dumps([contract, n]) + "\n")


def tree_hashes(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots`` (or of the files themselves)."""
    out = {}
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_cli(capfd, *args) -> tuple[int, str, str]:
    """``twoface ARGS`` in this process (the real entry point, minus the interpreter start)."""
    from twoface.cli import main

    capfd.readouterr()
    code = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return code, out, err


def assert_refused(result: tuple[int, str, str], *needles: str) -> str:
    """Exit 2, no traceback, no stray library line: one stderr line holding every needle."""
    code, _out, err = result
    assert code == 2, (code, err)
    assert "Traceback" not in err and "libpng" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def meta_json(png: bytes) -> dict:
    from twoface.media.png import read_text_chunks

    return json.loads(read_text_chunks(png)["twoface"])


def with_meta_text(png: bytes, text: bytes, compressed: bool = True) -> bytes:
    """The PNG with its twoface iTXt chunk replaced by ``text`` (raw bytes, compressed or not)."""
    from twoface.media.png import iter_chunks

    body = zlib.compress(text, 6) if compressed else text
    itxt = chunk(b"iTXt", b"twoface\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + body)
    out = [png[:8]]
    for kind, payload in iter_chunks(png):
        if kind == b"iTXt" and payload.startswith(b"twoface\x00"):
            continue
        if kind == b"IEND":
            out.append(itxt)
        out.append(chunk(kind, payload))
    return b"".join(out)


def with_meta(png: bytes, meta: dict) -> bytes:
    return with_meta_text(png, json.dumps(meta).encode())


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` pixels (its data is a few KB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 65536, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zlib_bomb(png: bytes, inflated_mb: int = 100) -> bytes:
    """The face PNG with a metadata chunk that inflates to ``inflated_mb`` MB of spaces."""
    comp = zlib.compressobj(9)
    block = b" " * (1 << 20)
    body = b"".join(comp.compress(block) for _ in range(inflated_mb)) + comp.flush()
    from twoface.media.png import iter_chunks

    itxt = chunk(b"iTXt", b"twoface\x00\x01\x00\x00\x00" + body)
    out = [png[:8]]
    for kind, payload in iter_chunks(png):
        if kind == b"iTXt":
            continue
        if kind == b"IEND":
            out.append(itxt)
        out.append(chunk(kind, payload))
    return b"".join(out)


def tiny_train_kwargs(**more) -> dict:
    """Python-API options of a short, quiet, repeatable run of the tiny model."""
    kw = {"arch": "custom", "options": dict(TINY), "batch_size": 4, "seed": 7, "lr": 5e-4, "holdout": 0.1,
          "log_every": 1000, "eval_every": 1000, "preview_every": 1000, "save_every": 1000,
          "quality": False, "tensorboard": False}
    kw.update(more)
    return kw
