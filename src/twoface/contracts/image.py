"""Limits for images from users: pixels checked in the header before decoding, bounded inflate.

Why: a 437 KB PNG can declare 60000x60000 pixels (10 GB once decoded), and a zlib stream of
a few hundred KB can inflate to gigabytes. OpenCV and Pillow get the same pixel limit (set
before either decodes anything), and twoface reads the PNG header itself first, so a bomb is
one clear message naming the file, never a crash or a swap storm.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from .. import MAX_IMAGE_PIXELS as MAX_PIXELS
from ..errors import InputError

MAX_TEXT_BYTES = 8 << 20  # inflated face metadata is ~30 KB
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def set_library_limits() -> None:
    """Pillow's bomb limit (OpenCV's is set by ``twoface/__init__.py``, read when cv2 loads)."""
    try:
        from PIL import Image
    except ImportError:
        return
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def png_chunks(data: bytes, path: str | Path | None) -> list[tuple[bytes, bytes]]:
    """(kind, payload) of every chunk, checked: complete, CRCs right, IHDR first, IEND last.

    A damaged PNG raises ``InputError("damaged PNG: ...")`` here, before libpng sees it (libpng
    would print its own stray error line and OpenCV would then just return nothing).
    """
    if not data.startswith(PNG_SIG):
        raise InputError("not a PNG image", path)
    chunks: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIG)
    while True:
        if pos + 8 > len(data):
            raise InputError(f"damaged PNG: truncated at byte {len(data):,} (no IEND chunk)", path)
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if length > len(data) or end > len(data):
            raise InputError(f"damaged PNG: truncated inside a {kind[:4]!r} chunk at byte {len(data):,}", path)
        payload = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise InputError(f"damaged PNG: the {kind!r} chunk at byte {pos:,} fails its checksum", path)
        if not chunks and kind != b"IHDR":
            raise InputError("damaged PNG: it does not start with an IHDR header", path)
        chunks.append((kind, payload))
        pos = end
        if kind == b"IEND":
            return chunks


def png_size(chunks: list[tuple[bytes, bytes]], path: str | Path | None) -> tuple[int, int]:
    """(width, height) declared by the IHDR chunk, refused beyond ``MAX_PIXELS``."""
    kind, ihdr = chunks[0]
    if len(ihdr) != 13:
        raise InputError("damaged PNG: its IHDR header has the wrong length", path)
    w, h = struct.unpack(">II", ihdr[:8])
    check_pixels(w, h, path)
    return w, h


def check_pixels(w: int, h: int, path: str | Path | None) -> None:
    if w <= 0 or h <= 0:
        raise InputError(f"damaged image: it declares {w}x{h} pixels", path)
    if w * h > MAX_PIXELS:
        raise InputError(f"image declares {w}x{h} pixels, more than the limit of {MAX_PIXELS:,} "
                         "(a decompression bomb or a damaged header); not decoded", path)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding; None for other formats."""
    if data.startswith(PNG_SIG) and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 9 < len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            (seg,) = struct.unpack(">H", data[pos + 2:pos + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[pos + 5:pos + 9])
                return w, h
            pos += 2 + seg
    return None


def inflate(data: bytes, path: str | Path | None, what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """zlib-decompress at most ``limit`` bytes; a bigger (or broken) stream is an InputError."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as err:
        raise InputError(f"{what} is damaged (bad compressed data: {err})", path) from None
    if len(out) > limit or d.unconsumed_tail:
        raise InputError(f"{what} inflates to more than {limit:,} bytes (a zlib bomb?); not read", path)
    return out


def decode_image(data: bytes, path: str | Path | None) -> np.ndarray | None:
    """BGR uint8 from encoded bytes; None when OpenCV cannot decode it.

    A PNG is checked whole first (``png_chunks``: complete, checksums right) and every format's
    header pixels against ``MAX_PIXELS``; those problems raise ``InputError`` naming the file.
    """
    import cv2

    if data.startswith(PNG_SIG):  # sound structure first: libpng never sees (or prints about) a damaged file
        png_size(png_chunks(data, path), path)
    else:
        size = image_size(data)
        if size is not None:
            check_pixels(size[0], size[1], path)
    from cv2.utils import logging as cvlog

    old = cvlog.getLogLevel()
    cvlog.setLogLevel(cvlog.LOG_LEVEL_SILENT)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    finally:
        cvlog.setLogLevel(old)
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        return None
    return img
