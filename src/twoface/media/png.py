"""PNG text chunks: the one reader and writer of the metadata twoface puts in PNGs.

Why by hand: OpenCV writes no text chunks and Pillow would re-encode the pixels;
splicing chunks into encoded bytes keeps the image bit-exact. Face metadata
(``store.metadata``) and the synthetic label (``media.label``) both use this.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from ..contracts.image import inflate
from ..errors import InputError

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    """One complete chunk: length, kind, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def text_chunk(keyword: str, text: str) -> bytes:
    """A tEXt chunk (Latin-1 keyword and text)."""
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def itxt_chunk(keyword: bytes, text: str, compress: bool = True) -> bytes:
    """An iTXt chunk (UTF-8 text, zlib-compressed by default)."""
    payload = text.encode("utf-8")
    if compress:
        payload = zlib.compress(payload, 6)
    # keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    return chunk(b"iTXt", keyword + b"\x00" + bytes([int(compress), 0]) + b"\x00\x00" + payload)


def add_text_chunks(png: bytes, entries: list[tuple[bytes, bytes]]) -> bytes:
    """Insert chunks (kind, raw chunk bytes) just before IEND of a PNG byte string."""
    if not png.startswith(PNG_SIG):
        raise ValueError("not a PNG")
    iend = png.rfind(b"IEND") - 4
    return png[:iend] + b"".join(c for _, c in entries) + png[iend:]


def iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield (kind, payload) for each chunk; stops quietly at a truncated tail."""
    pos = len(PNG_SIG)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        if len(payload) < length:
            return
        yield kind, payload
        if kind == b"IEND":
            return
        pos += 12 + length


def read_text_chunks(data: bytes) -> dict[str, str]:
    """All tEXt/zTXt/iTXt entries of a PNG byte string, keyword -> text.

    Compressed text is inflated with a limit (``contracts.image.inflate``): a zlib bomb in a
    chunk is skipped like any unreadable chunk, never inflated to gigabytes.
    """
    out: dict[str, str] = {}
    for kind, payload in iter_chunks(data):
        try:
            if kind == b"tEXt":
                k, _, v = payload.partition(b"\x00")
                out[k.decode("latin-1")] = v.decode("latin-1")
            elif kind == b"zTXt":
                k, _, rest = payload.partition(b"\x00")
                out[k.decode("latin-1")] = inflate(rest[1:], None, "text chunk").decode("latin-1")
            elif kind == b"iTXt":
                k, _, rest = payload.partition(b"\x00")
                flag, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\x00")
                _tkey, _, text = rest.partition(b"\x00")
                out[k.decode("latin-1")] = (inflate(text, None, "text chunk") if flag else text).decode("utf-8")
        except (InputError, UnicodeDecodeError, IndexError):
            continue
    return out
