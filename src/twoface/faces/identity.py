"""Identity embeddings: SFace (128-D, int8) through OpenCV's DNN module.

Used to keep only the chosen person (``--filter``/``--exclude``), to sort faces by
identity, and as a training signal. Faces are levelled and placed on the ArcFace
template first (``align.identity_crop``): SFace fails on a face turned 90° in the
image plane.

Engine: ``FaceRecognizerSF.feature`` fails on the int8 file in OpenCV 5.0 (DESIGN
§5), so the network is run directly. OpenCV 5's new graph engine runs it about
twice as fast as the classic one with the same outputs (to 1e-5), but only when the
input is set by its name ("data"); the classic engine is the fallback.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import InputError, MissingDependency
from . import assets
from .align import IDENTITY_SIZE, identity_crop

if TYPE_CHECKING:
    from .detect import Detector
    from .landmarks import Landmarker

INPUT_NAME = "data"
EMBEDDING_DIM = 128


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Cosine similarity of two embeddings, or of every row of ``a`` with every row of ``b``."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    an = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    if an.ndim == 1 and bn.ndim == 1:
        return float(an @ bn)
    return np.atleast_2d(an) @ np.atleast_2d(bn).T


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class Embedder:
    """SFace embeddings. One instance per thread (an OpenCV net is not thread-safe).

    ``engine``: "auto" (new engine, classic if it cannot load), "new" or "classic".
    """

    def __init__(self, engine: str = "auto", batch_size: int = 16):
        self.batch_size = int(batch_size)
        path = str(assets.model_path("sface"))
        engines = {"auto": ["new", "classic"], "new": ["new"], "classic": ["classic"]}[engine]
        found = {"new": getattr(cv2.dnn, "ENGINE_NEW", None), "classic": getattr(cv2.dnn, "ENGINE_CLASSIC", None)}
        flags = {name: int(flag) for name, flag in found.items() if flag is not None}
        if len(flags) < len(found):  # another OpenCV than the pinned 5.0 (5.1 renamed the engines)
            raise MissingDependency(f"OpenCV {cv2.__version__} is not supported (its DNN module has no ENGINE_NEW/"
                                    "ENGINE_CLASSIC): install opencv-python-headless>=5.0,<5.1")
        self._net = None
        last: Exception | None = None
        for name in engines:
            try:
                net = cv2.dnn.readNet(path, engine=flags[name])
                self._net, self.engine = net, name
                self._forward(np.zeros((1, IDENTITY_SIZE, IDENTITY_SIZE, 3), np.uint8))
                break
            except cv2.error as err:
                self._net, last = None, err
        if self._net is None:
            raise MissingDependency(f"cannot run the SFace model with OpenCV {cv2.__version__}: {last}")

    def _forward(self, faces: np.ndarray) -> np.ndarray:
        blob = cv2.dnn.blobFromImages(list(faces), 1.0, (IDENTITY_SIZE, IDENTITY_SIZE), (0, 0, 0), swapRB=True)
        net = self._net
        assert net is not None  # set by __init__ before the first call
        if self.engine == "new":
            net.setInput(blob, INPUT_NAME)
        else:
            net.setInput(blob)
        return np.asarray(net.forward()).reshape(len(faces), -1)

    def embed_aligned(self, faces112: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """Embeddings (N, 128) float32, unit length, of BGR 112×112 identity crops."""
        faces: list[np.ndarray] | np.ndarray = (
            [np.asarray(f) for f in faces112] if isinstance(faces112, list) else np.asarray(faces112))
        if isinstance(faces, np.ndarray) and faces.ndim == 3:
            faces = faces[None]
        if len(faces) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        for f in faces:
            if f.shape != (IDENTITY_SIZE, IDENTITY_SIZE, 3):
                raise ValueError(f"identity crops must be (112, 112, 3) BGR, got {f.shape}")
        out = [self._forward(np.stack(list(faces[i:i + self.batch_size])))
               for i in range(0, len(faces), self.batch_size)]
        return _normalise(np.concatenate(out))

    def embed(self, bgr: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The (128,) unit embedding of the face with ``points`` (478 mesh or 5 detector points)."""
        return self.embed_aligned(identity_crop(bgr, points)[None])[0]

    def embed_many(self, items: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Embeddings (N, 128) of (bgr, points) pairs, batched."""
        return self.embed_aligned([identity_crop(img, pts) for img, pts in items])

    def close(self) -> None:
        self._net = None

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_image(path: Path) -> np.ndarray:
    if not path.exists():
        raise InputError("no such reference image", path)
    if path.is_dir():
        raise InputError("is a folder, expected a reference image of the person", path)
    from ..media.reader import read_image

    img = read_image(path)  # pixel limits checked before decoding
    if img is None:
        raise InputError("cannot read this file as an image (expected a photo or a face PNG)", path)
    return img


def _face_png_embedding(path: Path, embedder: Embedder | None) -> np.ndarray | None:
    """The identity a twoface face PNG carries, or computes from its own landmarks; None if not one."""
    if path.suffix.lower() != ".png":
        return None
    from ..store.metadata import read_face

    try:
        image, meta = read_face(path)
    except InputError:
        return None  # a plain PNG photo: detect it like any other image
    if meta.identity is not None and len(meta.identity) == EMBEDDING_DIM:
        return _normalise(np.asarray(meta.identity, np.float32)[None])[0]
    if meta.landmarks:
        return (embedder or Embedder()).embed(image, meta.landmarks_array())
    return None


def load_reference(path: str | Path, detector: Detector | None = None, landmarker: Landmarker | None = None,
                   embedder: Embedder | None = None) -> np.ndarray:
    """The identity embedding (128,) of the person in a reference image (``--filter REF``).

    A twoface face PNG gives its stored identity. Any other image is searched for
    faces and the largest is used, aligned from its landmarks. Raises InputError naming the file when it shows no face.
    """
    path = Path(path)
    img = _read_image(path)
    emb = _face_png_embedding(path, embedder)
    if emb is not None:
        return emb
    if detector is None:
        from .detect import get_detector
        detector = get_detector("yunet", rotations=[90, 270, 180])
    faces = detector.detect(img)
    if not faces:
        raise InputError("no face found in this reference image", path)
    face = max(faces, key=lambda d: d.bbox[2] * d.bbox[3])
    points = face.points5
    if landmarker is None:  # the mesh anchors, as extract uses, keep reference and faces comparable
        from .landmarks import Landmarker

        with Landmarker() as own:
            lm = own.landmarks(img, face)
    else:
        lm = landmarker.landmarks(img, face)
    if lm is not None:
        points = lm.points
    return (embedder or Embedder()).embed(img, points)
