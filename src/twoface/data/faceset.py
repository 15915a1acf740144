"""A folder of face PNGs, decoded once into an in-memory uint8 cache at training size.

Why a cache: faceswap re-reads and re-decodes every face for every batch in
worker processes; at 64–128 px a whole face set fits in RAM many times over
(5,000 faces at 128 px are 250 MB as uint8), so we decode each PNG once, in a
thread pool (OpenCV releases the GIL), and from then on a batch is one tensor
index. Augmentation then runs on whole batches on the torch side (augment.py).

Interface:

- ``FaceSet(folder, size, holdout=0.05, seed=0, mask="extended", workers=None)``
  - ``images``: ``uint8 N×3×S×S`` RGB; ``masks``: ``uint8 N×1×S×S`` (0–255);
    ``landmarks``: ``float32 N×K×2`` in S-pixel space (K = 478 for twoface's mesh);
    ``files``: the PNG paths; ``metas``: their :class:`FaceMeta`.
  - ``.train`` / ``.valid``: :class:`FaceSplit` views (same fields, plus ``indices`` into the set).
    The split is deterministic in (seed, file name): a face's side of the split does not move
    when other faces are deleted. At least one face is held out when N ≥ 2 and holdout > 0.
  - ``.fingerprint``: sha256 (hex, 16 chars) of the sorted file names and metadata keys, for state.json.
  - ``.check_enough(batch_size)`` raises ``InputError`` when the training split is smaller than a batch.
- ``mask``: a key of the PNGs' ``masks`` metadata ("extended", "components"), rendered with
  ``twoface.faces.masks.render_mask``; when a face lacks that key it is built from its 478 landmarks
  (``faces.masks.mask_polygons``). ``"none"`` gives all-255 masks.

Every user mistake (missing/empty folder, no PNGs, PNGs without twoface metadata, mixed
landmark schemes) raises ``InputError`` naming the folder or file. A damaged PNG among good
ones is skipped with one warning naming it (``skipped`` lists them); only a folder of nothing
but damaged PNGs is refused.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import InputError, TwofaceError
from ..store.metadata import NO_METADATA, FaceMeta, list_face_files, read_face

log = logging.getLogger(__name__)


@dataclass
class FaceSplit:
    """One side of the holdout split; tensors are views/copies of the parent cache rows."""

    images: torch.Tensor  # uint8 N×3×S×S RGB
    masks: torch.Tensor  # uint8 N×1×S×S
    landmarks: torch.Tensor  # float32 N×K×2, S-pixel space
    indices: torch.Tensor  # int64 rows in the parent FaceSet
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])


def _scale_polygons(polygons, factor: float):
    """Scale nested lists of [x, y] points (one polygon, or a list of polygons)."""
    if isinstance(polygons, (int, float)):
        return float(polygons) * factor
    return [_scale_polygons(p, factor) for p in polygons]


def render_face_mask(meta: FaceMeta, name: str, size: int, path: Path) -> np.ndarray:
    """The named mask of a face as uint8 (size, size), rendered at training size."""
    if name == "none":
        return np.full((size, size), 255, np.uint8)
    from ..faces import masks as face_masks

    factor = size / float(meta.size)
    polygons = (meta.masks or {}).get(name)
    if polygons is None:
        if name not in face_masks.MASKS:
            raise InputError(f"unknown mask {name!r}; choose none, {', '.join(face_masks.MASKS)}", path)
        points = meta.landmarks_array()
        if points.shape[0] != 478:
            raise InputError(f"face has no {name!r} mask and no 478-point landmarks to build one from", path)
        polygons = face_masks.mask_polygons(points * factor, [name])[name]
        factor = 1.0
    rendered = face_masks.render_mask(_scale_polygons(polygons, factor), size, feather=max(1, size // 32))
    return np.clip(np.asarray(rendered, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)


def _decode(path: Path, size: int, mask: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, FaceMeta]:
    """One face: RGB uint8 at ``size``, its mask, landmarks scaled to ``size``, and its metadata."""
    bgr, meta = read_face(path)
    h, w = bgr.shape[:2]
    if (h, w) != (size, size):
        interp = cv2.INTER_AREA if size < max(h, w) else cv2.INTER_CUBIC
        bgr = cv2.resize(bgr, (size, size), interpolation=interp)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    points = meta.landmarks_array().reshape(-1, 2) * (size / float(meta.size or w))
    return rgb, render_face_mask(meta, mask, size, path), points.astype(np.float32), meta


def _split_order(files: list[Path], seed: int) -> list[int]:
    """Indices ordered by a seeded hash of each file name: stable when other files are deleted."""
    def key(i: int) -> bytes:
        return hashlib.sha256(f"{seed}:{files[i].name}".encode()).digest()

    return sorted(range(len(files)), key=key)


class FaceSet:
    """Every face PNG under ``folder``, cached at ``size`` px, with a deterministic holdout split."""

    def __init__(self, folder: str | Path, size: int, holdout: float = 0.05, seed: int = 0,
                 mask: str = "extended", workers: int | None = None):
        if not 0 <= holdout < 1:
            raise TwofaceError(f"holdout must be a fraction in [0, 1), got {holdout}")
        if size < 8:
            raise TwofaceError(f"face size must be at least 8 px, got {size}")
        self.folder = Path(folder)
        self.folders = [self.folder]
        self.size = int(size)
        self.mask_name = mask
        self.files = self._find_files()
        self._load(workers)
        self._split(holdout, seed)

    def _find_files(self) -> list[Path]:
        files = list_face_files(self.folder)  # raises for a missing folder or a file
        if files:
            return files
        others = [p for p in self.folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if not others:
            raise InputError("the face folder is empty (run `twoface extract` to fill it)", self.folder)
        raise InputError(f"no face PNGs in the folder ({len(others)} other file(s), e.g. {others[0].name}); "
                         "twoface trains on the PNGs written by `twoface extract`", self.folder)

    def _load(self, workers: int | None) -> None:
        workers = workers or min(8, os.cpu_count() or 2)
        results: list = [None] * len(self.files)
        errors: list[tuple[Path, TwofaceError]] = []
        with cf.ThreadPoolExecutor(workers, thread_name_prefix="faceset") as pool:
            futures = {pool.submit(_decode, p, self.size, self.mask_name): i for i, p in enumerate(self.files)}
            for fut in cf.as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except TwofaceError as err:
                    errors.append((self.files[i], err))
        errors.sort(key=lambda e: str(e[0]))
        if any(e.message == NO_METADATA for _, e in errors):
            self._raise(errors)
        self.skipped: list[tuple[Path, str]] = []
        for path, failed in errors:  # one bad file is not a bad folder: named once, skipped, counted
            log.warning("%s; skipped", failed)
            self.skipped.append((path, failed.message))
        if len(errors) == len(self.files):
            self._raise(errors)
        if errors:
            bad = {p for p, _ in errors}
            keep = [i for i, p in enumerate(self.files) if p not in bad]
            self.files = [self.files[i] for i in keep]
            results = [results[i] for i in keep]
        counts = {r[2].shape[0] for r in results}
        if len(counts) > 1:
            odd = next(self.files[i] for i, r in enumerate(results) if r[2].shape[0] != results[0][2].shape[0])
            raise InputError(f"faces in this folder mix landmark schemes ({sorted(counts)} points); "
                             f"{odd.name} differs from {self.files[0].name}", self.folder)
        self.images = torch.from_numpy(np.stack([r[0] for r in results])).permute(0, 3, 1, 2).contiguous()
        self.masks = torch.from_numpy(np.stack([r[1] for r in results]))[:, None].contiguous()
        self.landmarks = torch.from_numpy(np.stack([r[2] for r in results]))
        self.metas: list[FaceMeta] = [r[3] for r in results]

    def _raise(self, errors: list[tuple[Path, TwofaceError]]) -> None:
        missing = [p for p, e in errors if e.message == NO_METADATA]
        if missing:
            raise InputError(f"{len(missing)} of {len(self.files)} PNG(s) have no twoface metadata, e.g. "
                             f"{missing[0].name} (were they written by `twoface extract`? move them out of "
                             "the folder)", self.folder)
        path, err = errors[0]
        more = f" (and {len(errors) - 1} more bad file(s))" if len(errors) > 1 else ""
        raise InputError(f"{err.message}{more}", path)

    def _split(self, holdout: float, seed: int) -> None:
        n = len(self.files)
        n_valid = 0
        if holdout > 0 and n >= 2:
            n_valid = min(n - 1, max(1, round(n * holdout)))
        order = _split_order(self.files, seed)
        valid = torch.tensor(sorted(order[:n_valid]), dtype=torch.long)
        train = torch.tensor(sorted(order[n_valid:]), dtype=torch.long)
        self.train = self._view(train)
        self.valid = self._view(valid)

    @classmethod
    def pooled(cls, sets: list[FaceSet], holdout: float = 0.05, seed: int = 0) -> FaceSet:
        """One set of the faces of several (a pretrain prior's pool), split afresh over all of them.

        The parts must share size and landmark scheme. ``folder`` is the first one's;
        ``folders`` lists them all. The split stays deterministic per file name, as for one folder.
        """
        if not sets:
            raise TwofaceError("no face sets to pool")
        first = sets[0]
        if any(fs.size != first.size for fs in sets):
            raise TwofaceError("face sets cached at different sizes cannot be pooled")
        odd = next((fs for fs in sets if fs.landmarks.shape[1] != first.landmarks.shape[1]), None)
        if odd is not None:
            raise InputError(f"faces of another landmark scheme ({int(odd.landmarks.shape[1])} points) than those "
                             f"of {first.folder} ({int(first.landmarks.shape[1])}); they cannot be pooled", odd.folder)
        pool = cls.__new__(cls)
        pool.folder, pool.folders = first.folder, [fs.folder for fs in sets]
        pool.size, pool.mask_name = first.size, first.mask_name
        pool.files = [f for fs in sets for f in fs.files]
        pool.metas = [m for fs in sets for m in fs.metas]
        pool.skipped = [s for fs in sets for s in fs.skipped]
        pool.images = torch.cat([fs.images for fs in sets])
        pool.masks = torch.cat([fs.masks for fs in sets])
        pool.landmarks = torch.cat([fs.landmarks for fs in sets])
        pool._split(holdout, seed)
        return pool

    def _view(self, idx: torch.Tensor) -> FaceSplit:
        return FaceSplit(self.images[idx], self.masks[idx], self.landmarks[idx], idx,
                         [self.files[i] for i in idx.tolist()])

    def __len__(self) -> int:
        return len(self.files)

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for path, meta in sorted(zip(self.files, self.metas), key=lambda pm: pm[0].name):
            h.update(f"{path.name}|{meta.source_fingerprint}|{meta.frame}|{meta.face}\n".encode())
        return h.hexdigest()[:16]

    def check_enough(self, batch_size: int) -> None:
        """Refuse a training split smaller than one batch, saying what to do."""
        if len(self.train) < batch_size:
            raise InputError(f"only {len(self.train)} training face(s) ({len(self)} in the folder, "
                             f"{len(self.valid)} held out), fewer than the batch size {batch_size}; extract more "
                             "faces or lower --batch-size", self.folder)

    def describe(self) -> str:
        skipped = f"; {len(self.skipped)} damaged file(s) skipped" if self.skipped else ""
        pooled = f" from {len(self.folders)} folders" if len(self.folders) > 1 else ""
        return f"{len(self)} faces{pooled} at {self.size} px ({len(self.train)} train, {len(self.valid)} held out){skipped}"
