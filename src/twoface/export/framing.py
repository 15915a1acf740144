"""How a DeepFaceLive face crop relates to a twoface aligned crop, and the resampling grids between them.

Why this exists: a DFM file does not say how its faces were framed; DeepFaceLive's
face aligner decides, by default a "whole face" crop at coverage 2.2. A twoface model
learned crops at its own ``--coverage`` (default 0.75), centred differently. Export
bakes the mapping into the graph, so the exported model works at DeepFaceLive's
defaults without the user having to know any of this.

The two framings, in ArcFace units (the ArcFace 112-px crop has side 1):

- twoface, coverage ``c``: a square of side ``2c`` centred on the ArcFace crop centre
  (see ``faces.align``).
- DeepFaceLive, coverage ``k``: its aligner fits DeepFaceLab's mean face (a template
  that fills the unit square, brows to mouth) to the face's landmarks and cuts a
  square of side ``k`` template units around the template square's centre (its
  half-diagonal is ``k`` times the template's). ``x_offset``/``y_offset`` move the
  centre by that many template units.

Fitting the mean face's five anchor points (eye centres, nose tip, mouth corners;
the values below are its published coordinates for those points) onto the ArcFace
template gives one template unit = ``DFL_UNIT`` ArcFace units, a 0.3° rotation and
a centre ``DFL_CENTRE`` that sits at the nose tip, below twoface's centre. So:

    same crop size:  k = 2c / DFL_UNIT          (c = 0.75  ->  k ≈ 2.45)
    same centre:     y_offset = (0.5 - DFL_CENTRE_y) / DFL_UNIT ≈ -0.23

and DeepFaceLive's default k = 2.2 corresponds to a twoface coverage of about 0.675,
centred about 10 % of the crop lower than twoface centres it.
"""
from __future__ import annotations

import numpy as np

from ..faces.align import ARCFACE_112, umeyama

DFL_DEFAULT_COVERAGE = 2.2

# DeepFaceLab's mean face (unit square), five anchor points derived from it: the means of
# its eye contours (68-point indices 36-41 and 42-47), the nose tip (30), the mouth corners (48, 54).
_DFL_FIVE = np.array([[0.2254918, 0.2159903], [0.7547613, 0.2159903], [0.490127, 0.515625],
                      [0.254149, 0.780233], [0.726104, 0.780233]], np.float64)


def dfl_to_arcface() -> np.ndarray:
    """The 2×3 similarity taking DeepFaceLab template units to ArcFace units (crop side 1)."""
    return umeyama(_DFL_FIVE, ARCFACE_112 / 112.0)


def dfl_unit() -> float:
    m = dfl_to_arcface()
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def dfl_centre() -> np.ndarray:
    """The centre of DeepFaceLive's crop (offsets 0), in ArcFace units."""
    m = dfl_to_arcface()
    return m[:, :2] @ np.array([0.5, 0.5]) + m[:, 2]


def matching_dfl_settings(coverage: float) -> tuple[float, float, float]:
    """DeepFaceLive (coverage, x_offset, y_offset) that cut the same crop as twoface at ``coverage``."""
    unit, centre = dfl_unit(), dfl_centre()
    return 2.0 * coverage / unit, float((0.5 - centre[0]) / unit), float((0.5 - centre[1]) / unit)


def twoface_coverage_of(dfl_coverage: float) -> float:
    """The twoface coverage whose crop has the size of a DeepFaceLive crop at ``dfl_coverage``."""
    return dfl_coverage * dfl_unit() / 2.0


def _dfl_pixel_to_arcface(size: int, dfl_coverage: float, x_offset: float, y_offset: float) -> np.ndarray:
    """3×3 affine: DeepFaceLive crop pixel (cv2 coordinates; its square's corners at 0 and ``size``)
    -> ArcFace units."""
    k = dfl_coverage / size
    pix_to_dfl = np.array([[k, 0, 0.5 + x_offset - dfl_coverage / 2],
                           [0, k, 0.5 + y_offset - dfl_coverage / 2], [0, 0, 1]])
    return np.vstack([dfl_to_arcface(), [0, 0, 1]]) @ pix_to_dfl


def _twoface_pixel_to_arcface(size: int, coverage: float) -> np.ndarray:
    """3×3 affine: twoface crop pixel (cv2 convention: pixel centres at integers) -> ArcFace units.

    Inverse of ``faces.align.template``: pixel = ((p - 0.5) · 0.5 / c + 0.5) · size.
    """
    k = 2.0 * coverage / size
    return np.array([[k, 0, 0.5 - coverage], [0, k, 0.5 - coverage], [0, 0, 1]])


def _grid(to_source: np.ndarray, out_size: int, src_size: int) -> np.ndarray:
    """A GridSample grid (1, out, out, 2): for each output pixel, the source position in [-1, 1]
    (align_corners=False: -1 and 1 are the source's outer pixel edges)."""
    ys, xs = np.mgrid[0:out_size, 0:out_size].astype(np.float64)
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    src = (to_source @ pts)[:2]
    g = (2.0 * src + 1.0) / src_size - 1.0
    return g.T.reshape(1, out_size, out_size, 2).astype(np.float32)


def resize_grid(src_size: int, out_size: int) -> np.ndarray:
    """A GridSample grid that resizes a square crop (same framing, other size)."""
    k = src_size / out_size
    return _grid(np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]]), out_size, src_size)


def dfl_to_model_grid(dfl_size: int, dfl_coverage: float, x_offset: float, y_offset: float,
                      model_size: int, coverage: float) -> np.ndarray:
    """Where each pixel of the model's input crop lies in the DeepFaceLive crop (a GridSample grid).

    DeepFaceLive's aligner maps its square's corners onto pixel coordinates 0 and ``size`` of a
    cv2 warp, so its pixel ``q`` samples the template point at ``q · coverage / size`` from the corner.
    """
    model_to_arc = _twoface_pixel_to_arcface(model_size, coverage)
    dfl_to_arc = _dfl_pixel_to_arcface(dfl_size, dfl_coverage, x_offset, y_offset)
    return _grid(np.linalg.inv(dfl_to_arc) @ model_to_arc, model_size, dfl_size)


def model_to_dfl_grid(dfl_size: int, dfl_coverage: float, x_offset: float, y_offset: float,
                      model_size: int, coverage: float) -> np.ndarray:
    """Where each pixel of the DeepFaceLive crop lies in the model's output crop (a GridSample grid)."""
    model_to_arc = _twoface_pixel_to_arcface(model_size, coverage)
    dfl_to_arc = _dfl_pixel_to_arcface(dfl_size, dfl_coverage, x_offset, y_offset)
    return _grid(np.linalg.inv(model_to_arc) @ dfl_to_arc, dfl_size, model_size)


def dfl_crop_matrix(frame_to_arcface: np.ndarray, size: int, dfl_coverage: float = DFL_DEFAULT_COVERAGE,
                    x_offset: float = 0.0, y_offset: float = 0.0) -> np.ndarray:
    """The 2×3 frame -> DeepFaceLive-crop matrix (cv2 convention), given frame -> ArcFace units.

    What DeepFaceLive's aligner would cut, reproduced with twoface's own landmarks; tests use it
    to feed a DFM the crop DeepFaceLive would feed it.
    """
    dfl_to_arc = _dfl_pixel_to_arcface(size, dfl_coverage, x_offset, y_offset)
    m = np.linalg.inv(dfl_to_arc) @ np.vstack([frame_to_arcface, [0, 0, 1]])
    return m[:2]


def soft_face_mask(size: int, coverage: float) -> np.ndarray:
    """A fixed soft face-shaped mask (size, size) float32 in a twoface crop at ``coverage``.

    For models that learn no mask, a DFM still has to give DeepFaceLive masks. This is an
    ellipse in ArcFace units from the hairline (y 0.05) to below the chin (y 1.05) and cheek
    to cheek (x 0.1 to 0.9), which holds the "extended" landmark mask of a frontal face, with
    an edge that falls from 1 to 0 over the outer 15 % of its radius.
    """
    to_arc = _twoface_pixel_to_arcface(size, coverage)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    px, py = to_arc[0, 0] * xs + to_arc[0, 2], to_arc[1, 1] * ys + to_arc[1, 2]
    r = np.sqrt(((px - 0.5) / 0.40) ** 2 + ((py - 0.55) / 0.50) ** 2)
    t = np.clip((1.0 - r) / 0.15, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep
