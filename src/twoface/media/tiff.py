"""TIFF ImageDescription: where a TIFF keeps free text, so a 16-bit TIFF frame can carry the label.

OpenCV writes TIFFs without a way to add tags, so the tag is added after the
fact: a copy of the first IFD with the text entry is appended and the header
pointed at it (the old IFD stays in the file, unused). Pure bytes in, bytes out.
"""
from __future__ import annotations

import struct

TIFF_HEADS = (b"II*\x00", b"MM\x00*")
_IMAGE_DESCRIPTION = 270


def _tiff_ifd(data: bytes) -> tuple[str, int, list[bytes], int]:
    order = "<" if data[:2] == b"II" else ">"
    off = struct.unpack(order + "I", data[4:8])[0]
    n = struct.unpack(order + "H", data[off:off + 2])[0]
    entries = [data[off + 2 + 12 * i: off + 14 + 12 * i] for i in range(n)]
    nxt = struct.unpack(order + "I", data[off + 2 + 12 * n: off + 6 + 12 * n])[0]
    return order, off, entries, nxt


def set_description(tiff: bytes, tag: str) -> bytes:
    """Set the first IFD's ImageDescription to ``tag`` (ASCII): a new IFD is appended, the old one is left unused."""
    if tiff[:4] not in TIFF_HEADS:
        raise ValueError("not a TIFF")
    order, _, entries, nxt = _tiff_ifd(tiff)
    text = tag.encode("ascii") + b"\x00"
    out = bytearray(tiff)
    if len(out) % 2:
        out += b"\x00"
    text_at = len(out)
    out += text + (b"\x00" if len(text) % 2 else b"")
    entry = struct.pack(order + "HHII", _IMAGE_DESCRIPTION, 2, len(text), text_at)
    kept = [e for e in entries if struct.unpack(order + "H", e[:2])[0] != _IMAGE_DESCRIPTION] + [entry]
    kept.sort(key=lambda e: struct.unpack(order + "H", e[:2])[0])
    ifd_at = len(out)
    out += struct.pack(order + "H", len(kept)) + b"".join(kept) + struct.pack(order + "I", nxt)
    out[4:8] = struct.pack(order + "I", ifd_at)
    return bytes(out)


def tiff_texts(data: bytes) -> list[str]:
    """The ASCII ImageDescription of a TIFF's first IFD (empty list if none or unreadable)."""
    try:
        order, _, entries, _ = _tiff_ifd(data)
        for e in entries:
            tag, typ, count, value = struct.unpack(order + "HHII", e)
            if tag == _IMAGE_DESCRIPTION and typ == 2:
                raw = e[8:8 + count] if count <= 4 else data[value:value + count]
                return [raw.rstrip(b"\x00").decode("latin-1")]
    except (struct.error, IndexError):
        pass
    return []
