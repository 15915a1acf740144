"""The workspace: one folder holding sources, face sets, models and outputs, and nothing outside it.

Why a workspace and not arbitrary paths: the browser is a remote client (often through an SSH
tunnel), so every path it sends is treated as untrusted text. :func:`resolve` turns it into a
real path inside the workspace or refuses it: no absolute paths, no ``..``, no symlink that
leads out. The layout is the one the CLI examples use (``sources/``, ``faces/NAME``,
``models/NAME``, ``outputs/``); the UI's own files live in ``.twoface-ui/``.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import InputError

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".flv", ".mpg", ".mpeg", ".wmv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
UI_DIR = ".twoface-ui"
LAYOUT = ("sources", "faces", "models", "outputs")


class PathRefused(InputError):
    """A browser-supplied path that is not inside the workspace."""


class Workspace:
    """The root folder and the rules for every path inside it."""

    def __init__(self, root: str | Path):
        root = Path(root).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        for name in LAYOUT:
            (self.root / name).mkdir(exist_ok=True)
        self.state = self.root / UI_DIR
        self.state.mkdir(exist_ok=True)

    def resolve(self, rel: str | None, must_exist: bool = False) -> Path:
        """A workspace-relative path from the browser -> an absolute path inside the workspace."""
        if rel is None or not str(rel).strip():
            raise PathRefused("no path given")
        text = str(rel).strip().replace("\\", "/")
        if "\x00" in text:
            raise PathRefused("a path with a NUL byte is refused")
        pure = PurePosixPath(text)
        if pure.is_absolute() or text.startswith("~"):
            raise PathRefused(f"{text!r}: give a path relative to the workspace")
        if ".." in pure.parts:
            raise PathRefused(f"{text!r}: '..' is refused; paths stay inside the workspace")
        candidate = self.root.joinpath(*pure.parts)
        real = candidate.resolve()  # follows every symlink on the way
        if real != self.root and not real.is_relative_to(self.root):
            raise PathRefused(f"{text!r} leads outside the workspace (a symlink?)")
        if real.is_relative_to(self.state):
            raise PathRefused(f"{text!r}: the UI's own folder is not a user path")
        if must_exist and not real.exists():
            raise PathRefused(f"{text!r}: no such file or folder in the workspace")
        return real

    def rel(self, path: Path) -> str:
        """The workspace-relative, '/'-separated name of a path inside it."""
        return Path(path).resolve().relative_to(self.root).as_posix()

    def _walk(self, top: Path):
        """Every path under ``top`` except hidden ones and the UI's folder (no symlink escapes)."""
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(self.root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            try:
                if not p.resolve().is_relative_to(self.root):
                    continue
            except OSError:
                continue
            yield p

    def sources(self) -> list[str]:
        """Videos and image folders a user can extract from or convert (sources/ first, no outputs)."""
        out = []
        outputs = self.root / "outputs"
        for p in self._walk(self.root):
            if p.is_relative_to(outputs):
                continue  # swapped results are not sources
            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
                out.append(self.rel(p))
            elif p.is_dir() and p.parent == self.root / "sources" and any(
                    c.suffix.lower() in IMAGE_SUFFIXES for c in p.iterdir()):
                out.append(self.rel(p))
        return sorted(out, key=lambda r: (not r.startswith("sources/"), r))

    def face_sets(self) -> list[str]:
        """Folders under faces/ (each one face set, as `twoface extract -o` writes)."""
        top = self.root / "faces"
        return [self.rel(p) for p in sorted(top.iterdir()) if p.is_dir() and not p.name.startswith(".")]

    def models(self) -> list[str]:
        """Model folders (a config.json with weights beside it) anywhere in the workspace."""
        out = []
        for p in self._walk(self.root):
            if p.name == "config.json" and (p.parent / "weights.safetensors").exists():
                out.append(self.rel(p.parent))
        return out

    def outputs(self) -> list[str]:
        top = self.root / "outputs"
        return [self.rel(p) for p in self._walk(top) if p.is_file()]

    def reports(self) -> list[str]:
        return [self.rel(p) for p in self._walk(self.root) if p.name.endswith("report.json")]
