"""Visible-to-software labels that say "this is synthetic, made by twoface".

Every output carries the tag ``synthetic:twoface/<version>`` where each format
keeps free text: the container ``comment`` of a video, PNG ``tEXt`` chunks, a
JPEG ``COM`` segment, a GIF comment extension. Metadata is easy to strip, which
is why converted frames also carry the invisible watermark (``watermark.py``);
the label is the cheap, exact first check ``twoface inspect`` makes.
"""
from __future__ import annotations

import struct
from pathlib import Path

from .. import __version__
from .png import PNG_SIG, add_text_chunks, read_text_chunks, text_chunk

SYNTHETIC_TAG = f"synthetic:twoface/{__version__}"
TAG_PREFIX = "synthetic:twoface/"
PNG_KEYWORD = "twoface:synthetic"

_VIDEO_EXTS = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"}


def label_png(png: bytes, tag: str = SYNTHETIC_TAG) -> bytes:
    """Add ``Software``, ``Comment`` and ``twoface:synthetic`` tEXt entries to PNG bytes."""
    entries = [(b"tEXt", text_chunk(k, v)) for k, v in
               (("Software", f"twoface {__version__}"), ("Comment", tag), (PNG_KEYWORD, tag))]
    return add_text_chunks(png, entries)


def label_tiff(tiff: bytes, tag: str = SYNTHETIC_TAG) -> bytes:
    """Set a TIFF's ImageDescription to ``tag`` (16-bit TIFF frames of an image sequence)."""
    from .tiff import set_description

    return set_description(tiff, tag)


def label_jpeg(jpeg: bytes, tag: str = SYNTHETIC_TAG) -> bytes:
    """Insert a COM segment holding ``tag`` right after the JPEG's SOI marker."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    text = tag.encode("utf-8")
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def _jpeg_comments(data: bytes) -> list[str]:
    """COM segments before the image data (SOS), decoded leniently."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: no more header segments
            break
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker == 0xFE:
            out.append(data[pos + 4:pos + 2 + length].decode("utf-8", "replace"))
        pos += 2 + length
    return out


def _gif_comments(data: bytes) -> list[str]:
    """Text of every comment extension in a GIF (walks the block structure)."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return []
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    out = []
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            label, pos = data[pos + 1], pos + 2
            chunks, pos = _sub_blocks(data, pos)
            if label == 0xFE:
                out.append(chunks.decode("utf-8", "replace"))
        elif block == 0x2C:  # image descriptor, optional local table, LZW size, sub-blocks
            lflags = data[pos + 9]
            pos += 10 + (3 * (2 << (lflags & 7)) if lflags & 0x80 else 0) + 1
            _, pos = _sub_blocks(data, pos)
        else:
            break
    return out


def _sub_blocks(data: bytes, pos: int) -> tuple[bytes, int]:
    parts = []
    while pos < len(data) and data[pos]:
        n = data[pos]
        parts.append(data[pos + 1:pos + 1 + n])
        pos += 1 + n
    return b"".join(parts), pos + 1


def _video_tags(path: Path) -> dict[str, str]:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            tags = dict(c.metadata)
            for s in c.streams:
                tags.update({k: v for k, v in s.metadata.items() if k not in tags})
            return tags
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return {}


def read_label(path: str | Path) -> dict | None:
    """The synthetic label of a file, or None if it has none.

    Returns ``{"tag": "synthetic:twoface/<version>", "version": ..., "where": ...}``
    where ``where`` says which field held it. Reads PNG, JPEG, GIF and any
    container PyAV opens, and TIFF's ImageDescription.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    candidates: list[tuple[str, str]] = []
    if head.startswith(PNG_SIG):
        chunks = read_text_chunks(path.read_bytes())
        candidates = [(f"png tEXt {k}", v) for k, v in chunks.items()]
    elif head.startswith(b"\xff\xd8"):
        candidates = [("jpeg COM", t) for t in _jpeg_comments(path.read_bytes())]
    elif head[:4] in (b"II*\x00", b"MM\x00*"):
        from .tiff import tiff_texts

        candidates = [("tiff ImageDescription", t) for t in tiff_texts(path.read_bytes())]
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        candidates = [("gif comment", t) for t in _gif_comments(path.read_bytes())]
    else:
        candidates = [(f"container {k}", v) for k, v in _video_tags(path).items()]
    for where, text in candidates:
        if text.startswith(TAG_PREFIX):
            return {"tag": text, "version": text[len(TAG_PREFIX):], "where": where}
    return None
