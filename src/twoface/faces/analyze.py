"""Face finding for the stages: detect -> landmarks -> align -> identity -> masks, per frame.

Why in the library: extract (which writes the faces) and convert (which finds
faces on the fly when no store exists) must find exactly the same faces with the
same options, and the coming UI and export call it too. So the analyzer, the
per-thread pool of analyzers, the identity filter (``--filter/--exclude/--threshold``)
and the options that shape face finding (``FaceOptions``, which ``ExtractOptions``
and ``ConvertOptions`` both extend) live here, and neither stage imports the other.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..options import int_list, option
from ..store.alignments import FaceRecord, SourceInfo
from ..store.metadata import FaceMeta, encode_face_png


@dataclass
class FaceOptions:
    """Which faces are found and kept: the options extract and convert share, declared once."""

    detector: str = option("yunet", help="face detector", group="detection")
    rotate: list[int] = option(default_factory=list, type=int_list, metavar="ANGLES", group="detection",
                               help="when the upright pass finds no face, retry at these angles, e.g. 90,180,270")
    min_size: int = option(0, help="ignore faces smaller than PX pixels", metavar="PX", group="detection")
    max_faces: int | None = option(None, help="keep at most this many faces per frame", default_help="all",
                                   group="detection")
    score_threshold: float | None = option(None, help="detector confidence threshold", default_help="the detector's",
                                           group="detection")
    filter: list[str] = option(default_factory=list, metavar="REF", default_help="", group="identity",
                               help="keep only faces matching these reference images or face PNGs")
    exclude: list[str] = option(default_factory=list, metavar="REF", default_help="", group="identity",
                                help="drop faces matching these reference images or face PNGs")
    threshold: float = option(0.4, help="cosine similarity that counts as the same person (for --filter/--exclude)",
                              group="identity")


def load_references(paths: Iterable[str | Path]) -> list[np.ndarray]:
    """The identity vector of each reference image (``--filter``/``--exclude``); InputError names a missing one."""
    from .identity import load_reference

    out = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError("no such reference image", p)
        out.append(load_reference(p))
    return out


class IdentityFilter:
    """Keep a face when it is like one of the references and like none of the excluded people."""

    def __init__(self, references: Sequence[np.ndarray] = (), excludes: Sequence[np.ndarray] = (),
                 threshold: float = 0.4):
        self.references = list(references)
        self.excludes = list(excludes)
        self.threshold = threshold

    @classmethod
    def load(cls, opts: FaceOptions) -> IdentityFilter:
        """The filter that ``opts.filter``, ``opts.exclude`` and ``opts.threshold`` describe."""
        return cls(load_references(opts.filter), load_references(opts.exclude), opts.threshold)

    @property
    def active(self) -> bool:
        return bool(self.references or self.excludes)

    def keep(self, identity: np.ndarray | None) -> bool:
        """A face without an identity vector is kept only when no reference asks for someone."""
        if not self.active:
            return True
        if identity is None:
            return not self.references
        t = self.threshold
        if self.references and max(float(identity @ r) for r in self.references) < t:
            return False
        return not (self.excludes and max(float(identity @ r) for r in self.excludes) >= t)


@dataclass
class AnalyzedFace:
    """A face found in a frame, with everything the writer needs (frame coordinates)."""

    record: FaceRecord
    png: bytes | None  # the encoded aligned face, with metadata (None when not writing faces)
    aligned_points: np.ndarray
    matrix: np.ndarray


class FaceAnalyzer:
    """Detect -> landmarks -> identity -> align -> masks for one frame. One per thread (the models are not thread-safe)."""

    def __init__(self, opts: FaceOptions, identity: IdentityFilter | None = None, size: int = 256,
                 coverage: float | None = None):
        from . import align, masks, quality
        from .detect import get_detector
        from .identity import Embedder
        from .landmarks import Landmarker

        self.opts = opts
        self.size = size
        self._align, self._masks, self._quality = align, masks, quality
        det_opts: dict = {"min_size": opts.min_size, "rotations": list(opts.rotate), "max_faces": opts.max_faces}
        if opts.score_threshold is not None:
            det_opts["score_threshold"] = opts.score_threshold
        self.detector = get_detector(opts.detector, **det_opts)
        self.landmarker = Landmarker()
        self.embedder = Embedder()
        self.identity = identity if identity is not None else IdentityFilter(threshold=opts.threshold)
        self.coverage = coverage if coverage is not None else align.DEFAULT_COVERAGE

    def close(self) -> None:
        self.landmarker.close()

    def analyze(self, image: np.ndarray, frame: int, source: SourceInfo | None,
                encode: bool = True) -> list[AnalyzedFace]:
        """The kept faces of one frame, left to right; with ``encode`` (and a source), their face PNGs."""
        align = self._align
        found: list[AnalyzedFace] = []
        # left-to-right order gives stable face indices for side-by-side people
        detections = sorted(self.detector.detect(image), key=lambda d: d.bbox[0])
        for det in detections:
            lm = self.landmarker.landmarks(image, det)
            if lm is None:
                continue
            M = align.align_matrix(lm.points, self.size, self.coverage)
            face_img = align.warp(image, M, self.size)
            if self.size >= 150:  # the identity crop is a small resize of the aligned face
                identity = self.embedder.embed_aligned(align.identity_from_aligned(face_img, self.coverage)[None])[0]
            else:
                identity = self.embedder.embed(image, lm.points)
            if not self.identity.keep(identity):
                continue
            aligned_pts = align.transform_points(lm.points, M)
            blur = float(self._quality.blur_score(face_img))
            bx, by, bw, bh = (float(v) for v in det.bbox)
            yaw, pitch, roll = (float(v) for v in lm.pose)
            record = FaceRecord(
                frame=frame, face=len(found), bbox=(bx, by, bw, bh), score=float(det.score),
                landmarks=lm.points.astype(np.float32), scheme="478", pose=(yaw, pitch, roll),
                blendshapes=np.asarray(lm.blendshapes, np.float32), rotation=int(det.rotation),
                identity=identity, blur=blur)
            png = None
            if encode and source is not None:
                meta = FaceMeta(
                    source_path=source.path, source_fingerprint=source.fingerprint, frame=frame,
                    face=record.face, size=self.size, coverage=float(self.coverage),
                    matrix=np.round(M, 6).tolist(), landmarks=np.round(aligned_pts, 2).tolist(),
                    pose=[round(float(v), 3) for v in lm.pose],
                    identity=[round(float(v), 6) for v in identity],
                    masks=self._masks.mask_polygons(aligned_pts), blur=round(blur, 3),
                    blendshapes=[round(float(v), 4) for v in lm.blendshapes])
                png = encode_face_png(face_img, meta)
            found.append(AnalyzedFace(record, png, aligned_pts, M))
        return found


class AnalyzerPool:
    """One ``FaceAnalyzer`` per calling thread, made on first use and all closed together."""

    def __init__(self, opts: FaceOptions, identity: IdentityFilter | None = None, size: int = 256,
                 coverage: float | None = None):
        self.opts, self.identity, self.size, self.coverage = opts, identity, size, coverage
        self._local = threading.local()
        self._analyzers: list[FaceAnalyzer] = []
        self._lock = threading.Lock()

    def get(self) -> FaceAnalyzer:
        """This thread's analyzer."""
        a = getattr(self._local, "analyzer", None)
        if a is None:
            a = FaceAnalyzer(self.opts, self.identity, self.size, self.coverage)
            self._local.analyzer = a
            with self._lock:
                self._analyzers.append(a)
        return a

    def close(self) -> None:
        with self._lock:
            analyzers, self._analyzers = self._analyzers, []
        for a in analyzers:
            a.close()
