"""The extract stage: media -> aligned face PNGs + one alignments store, resumable.

Why this shape: decoding, detection, landmarks and identity are each C++ calls
that release the GIL, so a small pool of worker threads (each owning its own
detector/landmarker/embedder, which are not thread-safe) keeps both cores busy,
while one writer thread keeps results in frame order. Because the writer
commits frames in order, "the last committed frame" is an exact resume point,
and face files have deterministic names, so a rerun after a kill never
duplicates a face.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, StoreError
from .faces.analyze import AnalyzedFace, AnalyzerPool, FaceOptions, IdentityFilter
from .fsutil import atomic_write_bytes, fingerprint
from .options import option
from .progress import FrameProgress
from .store.alignments import AlignmentsStore, SourceInfo, default_store_path

# Options that shape the faces and the store: a resumed run must use the same values.
_SHAPING = ("size", "coverage", "every", "min_size", "max_faces", "rotate", "detector", "filter", "exclude",
            "threshold", "score_threshold")


@dataclass
class ExtractOptions(FaceOptions):
    """Every knob of extraction; the CLI flags map one to one onto these.

    The face-finding options (detector, min_size, max_faces, rotate, score_threshold,
    filter, exclude, threshold) come from ``faces.analyze.FaceOptions``, shared with convert.
    """

    every: int = option(1, help="process every Nth frame", metavar="N", group="detection")
    size: int = option(256, help="side of the aligned face images in pixels", group="alignment")
    coverage: float | None = option(None, group="alignment",  # None: the aligner's default
                                    help="how much of the head the crop shows; larger shows more",
                                    default_help="the aligner's, 0.75 of the template scale")
    workers: int | None = option(None, help="analysis threads", default_help="number of cores, at most 4", group="run")
    debug_landmarks: str | None = option(None, help="also write frames with landmarks drawn, for checking",
                                         metavar="FOLDER", default_help="", group="run")
    commit_every: float = option(2.0, help="seconds between store commits", cli=False)

    def validate(self) -> None:
        """Refuse impossible values up front, before any file is opened or written."""
        checks = [
            ("size", 32 <= self.size <= 2048, "from 32 to 2048"),
            ("coverage", self.coverage is None or 0.2 <= self.coverage <= 2.0, "from 0.2 to 2.0"),
            ("every", self.every >= 1, "1 or more"),
            ("min-size", self.min_size >= 0, "0 or more"),
            ("max-faces", self.max_faces is None or self.max_faces >= 1, "1 or more"),
            ("threshold", -1.0 <= self.threshold <= 1.0, "a cosine from -1 to 1"),
            ("workers", self.workers is None or self.workers >= 1, "1 or more"),
        ]
        for flag, ok, want in checks:
            if not ok:
                value = getattr(self, flag.replace("-", "_"))
                raise InputError(f"--{flag} must be {want}, got {value}")

    def shaping(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in _SHAPING}


def face_filename(source_path: str | Path, frame: int, face: int) -> str:
    return f"{Path(source_path).stem}_{frame:06d}_{face}.png"


@dataclass
class ExtractResult:
    """What an extract run did, for the CLI summary and for tests."""

    store: Path
    faces_dir: Path | None
    frames: int  # frames processed in this run
    faces: int  # faces written in this run
    total_faces: int  # faces in the store after the run
    total_frames: int
    resumed_from: int  # first frame of this run (0 for a fresh run)
    frames_with: dict[int, int] = field(default_factory=dict)  # face count -> number of frames (whole store)


def _source_info(media, path: Path) -> SourceInfo:
    info = media.info
    return SourceInfo(path=str(path.resolve()), fingerprint=fingerprint(path), frame_count=int(info.frame_count),
                      fps=float(info.fps or 0.0), width=int(info.width), height=int(info.height),
                      is_video=bool(info.is_video))


def _open_store(store_path: Path, src: SourceInfo, opts: ExtractOptions, restart: bool) -> AlignmentsStore:
    store = AlignmentsStore.open(store_path, create=True)
    try:
        old = store.source
        if old is not None and old.fingerprint != src.fingerprint:
            raise StoreError(f"this store belongs to another source ({old.path}); "
                             f"use --store to choose a new file", store_path)
        old_opts = store.get_meta("extract_options")
        if restart and old is not None:
            store.clear()  # a fresh start: drop faces and progress, keep the file
        elif old_opts is not None and old_opts != opts.shaping() and store.last_frame() >= 0:
            changed = sorted(k for k in opts.shaping() if old_opts.get(k) != opts.shaping()[k])
            raise StoreError(f"this store was extracted with other options ({', '.join(changed)}); "
                             f"rerun with the same options to resume, or pass --restart", store_path)
        store.set_source(src)
        store.set_meta("extract_options", opts.shaping())
        from . import __version__

        store.set_meta("twoface_version", __version__)
        return store
    except BaseException:
        store.close()
        raise


def extract(input: str | Path, faces_dir: str | Path | None, store: str | Path | None = None, *,
            restart: bool = False, progress: bool = True, **options) -> ExtractResult:
    """Extract faces from a video, an image or an image folder (the ``twoface extract`` verb).

    ``faces_dir=None`` fills the store only (convert's on-the-fly mode).
    Options are the fields of ``ExtractOptions``.
    """
    from .media import open_media

    opts = ExtractOptions(**options)
    opts.validate()
    input = Path(input)
    if not input.exists():
        raise InputError("no such file or folder", input)
    identity = IdentityFilter.load(opts)
    store_path = Path(store) if store is not None else default_store_path(input)
    faces_path = Path(faces_dir) if faces_dir is not None else None
    if faces_path is not None:
        if faces_path.exists() and not faces_path.is_dir():
            raise InputError("output exists and is not a folder", faces_path)
        try:
            faces_path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            from .errors import from_os_error

            raise from_os_error(err, faces_path) from err
    debug_dir = Path(opts.debug_landmarks) if opts.debug_landmarks else None
    if debug_dir is not None:
        debug_dir.mkdir(parents=True, exist_ok=True)

    media = open_media(input)
    src = _source_info(media, input)
    db = _open_store(store_path, src, opts, restart)
    try:
        start = db.last_frame() + 1
        run = _Run(opts, media, db, src, faces_path, debug_dir, identity, progress)
        frames, faces = run.go(start)
        db.commit()
        if run.reached_end and opts.every == 1 and run.last_index >= 0:
            # the decoded count is exact; the container's was an estimate
            src.frame_count = run.last_index + 1
            db.set_source(src)
        counts: dict[int, int] = collections.Counter(row.faces for row in db.frames())
        return ExtractResult(store=store_path, faces_dir=faces_path, frames=frames, faces=faces,
                             total_faces=db.face_count(), total_frames=db.frame_count(),
                             resumed_from=start, frames_with=dict(counts))
    finally:
        db.close()


class _Run:
    """One pass over the frames: a pool of analyzers, results written in frame order."""

    def __init__(self, opts, media, db, src, faces_path, debug_dir, identity, progress):
        self.opts, self.media, self.db, self.src = opts, media, db, src
        self.faces_path, self.debug_dir = faces_path, debug_dir
        self.progress = progress
        self.reached_end = False
        self.last_index = -1
        self.analyzers = AnalyzerPool(opts, identity, size=opts.size, coverage=opts.coverage)

    def _work(self, frame):
        faces = self.analyzers.get().analyze(frame.image, frame.index, self.src, encode=self.faces_path is not None)
        debug = _draw_debug(frame.image, faces) if self.debug_dir is not None and faces else None
        return frame.index, frame.time, frame.name, faces, debug

    def go(self, start: int) -> tuple[int, int]:
        import cv2

        workers = self.opts.workers or max(1, min(4, os.cpu_count() or 1))
        cv_threads = cv2.getNumThreads()
        if workers > 1:
            cv2.setNumThreads(1)  # our threads already fill the cores; OpenCV's own pool would oversubscribe
        total = self.media.info.frame_count
        frames_done = faces_done = 0
        bar = FrameProgress("extract", self.src.path, total, start, enabled=self.progress, count="faces")
        pending: collections.deque = collections.deque()
        try:
            with cf.ThreadPoolExecutor(workers, thread_name_prefix="twoface-extract") as pool:
                for frame in self.media.frames(start=start, every=self.opts.every):
                    self.last_index = frame.index
                    pending.append(pool.submit(self._work, frame))
                    while len(pending) > workers * 2:  # bounded: memory stays flat
                        f, n = self._write(pending.popleft().result())
                        frames_done += f
                        faces_done += n
                        bar.update(self.last_index, faces_done)
                while pending:
                    f, n = self._write(pending.popleft().result())
                    frames_done += f
                    faces_done += n
                    bar.update(self.last_index, faces_done)
                self.reached_end = True
        finally:
            for p in pending:
                p.cancel()
            bar.close()
            cv2.setNumThreads(cv_threads)
            self.analyzers.close()
        return frames_done, faces_done

    def _write(self, result) -> tuple[int, int]:
        index, time_s, name, faces, debug = result
        if self.faces_path is not None:
            for f in faces:
                atomic_write_bytes(self.faces_path / face_filename(self.src.path if name is None else name,
                                                                   index, f.record.face), f.png)
        if debug is not None:
            import cv2

            cv2.imwrite(str(self.debug_dir / f"{index:06d}.jpg"), debug)
        self.db.add_frame(index, [f.record for f in faces], time_s=time_s, name=name)
        self.db.commit_if_due(self.opts.commit_every)
        return 1, len(faces)


def _draw_debug(image: np.ndarray, faces: list[AnalyzedFace]) -> np.ndarray:
    """The frame with each face's box, 478 points and 68-point subset drawn, for checking by eye."""
    import cv2

    from .faces.align import to_68

    out = image.copy()
    for f in faces:
        x, y, w, h = (int(round(v)) for v in f.record.bbox)
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 255, 0), 2)
        for px, py in f.record.landmarks:
            cv2.circle(out, (int(px), int(py)), 1, (255, 200, 0), -1)
        for px, py in to_68(f.record.landmarks):
            cv2.circle(out, (int(px), int(py)), 2, (0, 0, 255), -1)
        cv2.putText(out, f"{f.record.face} yaw {f.record.pose[0]:.0f} roll {f.record.pose[2]:.0f}", (x, max(12, y - 6)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 1)
    return out


from . import _callable_stage  # noqa: E402  (so that twoface.extract(...) calls extract())

_callable_stage(__name__, "extract")
