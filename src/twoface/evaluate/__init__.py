"""``twoface evaluate``: how good is a swap model, measured by models it never trained with.

``evaluate(model, faces_a, faces_b, video=None, source=None, gallery=(), output=None)``
returns the report (a dict) and writes it as JSON when ``output`` is given:

- ``swap.a2b`` / ``swap.b2a``: held-out faces of one person rendered as the
  other; ``id_retrieval`` is the share whose nearest gallery identity (by the
  dlib judge, never SFace) is the target, next to ``chance``; the mean judge
  similarity to the target and to the source; pose error (degrees) and
  expression error (L2 over 52 blendshapes) between source and swap.
- ``reconstruction.a`` / ``.b``: SSIM, PSNR and sharpness ratio of A->A and B->B on held-out faces.
- ``video`` (with ``video`` and ``source``): jitter ratio, pose and expression
  error frame by frame, and who the judge says the swapped video shows.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError, TwofaceError
from ..options import RuntimeOptions, option
from . import metrics
from .faces import as_uint8, evenly, face_mask, gallery_folder, judge_faces, landmark_aligned, load_faces, split_files, to_size

SIDES = {"a": "A", "b": "B"}


log = logging.getLogger(__name__)


def _say(progress: bool, text: str) -> None:
    """A step of the evaluation, as an info message (``progress=False``: silent)."""
    if progress:
        log.info(text)


def _pose_expression(landmarker, sources: list[np.ndarray], swaps: list[np.ndarray], coverage: float) -> dict:
    """Landmark both images of each pair the same way; compare pose and blendshapes."""
    src_pose, swp_pose, src_bs, swp_bs = [], [], [], []
    for s, w in zip(sources, swaps):
        a = landmark_aligned(landmarker, s, coverage)
        b = landmark_aligned(landmarker, w, coverage)
        if a is None or b is None:
            continue
        src_pose.append(a.pose)
        swp_pose.append(b.pose)
        src_bs.append(a.blendshapes)
        swp_bs.append(b.blendshapes)
    return {
        "pairs_landmarked": len(src_pose),
        "pose_error_deg": metrics.pose_error(np.array(src_pose).reshape(-1, 3), np.array(swp_pose).reshape(-1, 3)),
        "expression_error": metrics.expression_error(np.array(src_bs).reshape(-1, 52), np.array(swp_bs).reshape(-1, 52)),
    }


@dataclass
class EvaluateOptions(RuntimeOptions):
    """How much to measure; ``twoface evaluate`` makes one flag of each (``twoface.options``)."""

    max_faces: int = option(40, help="held-out faces per side to evaluate")
    gallery_faces: int = option(40, help="faces per gallery identity")
    max_frames: int = option(150, help="frames of --video/--source to analyse")


def evaluate(model: str | Path, faces_a: str | Path, faces_b: str | Path, video: str | Path | None = None,
             source: str | Path | None = None, gallery: list[str | Path] | tuple = (),
             output: str | Path | None = None, progress: bool = True, overwrite: bool = False,
             **options: Any) -> dict:
    """Measure a model (and optionally a video it converted); see the module doc for the report.

    ``output`` must not exist unless ``overwrite`` (and then it must be a twoface report).
    ``options`` are the fields of :class:`EvaluateOptions` (``max_faces``, ``gallery_faces``,
    ``max_frames``, ``device``, ``precision``).
    """
    opts = EvaluateOptions(**options)
    max_faces, gallery_faces, max_frames = opts.max_faces, opts.gallery_faces, opts.max_frames
    from ..device import choose
    from ..faces.landmarks import Landmarker
    from ..models.swapper import Swapper
    from .judge import VERIFY_CALIBRATION, Judge, verify_threshold

    if (video is None) != (source is None):
        raise InputError("--video and --source go together: the swapped video and the video it came from")
    if output is not None:
        from .output import check_output

        check_output(output, overwrite)
    t0 = time.monotonic()
    model = Path(model)
    runtime = choose(opts.device, opts.precision)
    swapper = Swapper(model, runtime)
    fr = swapper.framing
    judge = Judge()
    threshold = verify_threshold(fr.output_size)
    folders = {"a": Path(faces_a), "b": Path(faces_b)}
    held, train_files, how = {}, {}, {}
    for side, folder in folders.items():
        valid, train, how[side] = split_files(folder, model, swapper.config, max_faces)
        held[side] = load_faces(valid)
        train_files[side] = train

    _say(progress, "evaluate: judging the gallery faces (dlib ResNet)")
    gal: dict[str, np.ndarray] = {}
    real: dict[str, tuple[list, list]] = {}  # real faces of A and B at output size, with their masks
    for side, name in SIDES.items():
        g = load_faces(evenly(train_files[side], gallery_faces))
        imgs = [to_size(im, fr.output_size) for im in g.images]
        pts = [p * (fr.output_size / im.shape[0]) for p, im in zip(g.landmarks, g.images)]
        gal[name] = judge_faces(judge, imgs, pts)
        real[name] = (imgs, [face_mask(p, fr.output_size) for p in pts])
    for g_folder in gallery:
        name = Path(g_folder).name
        while name in gal:
            name += "'"
        gal[name] = gallery_folder(judge, Path(g_folder), fr.output_size, gallery_faces)

    report: dict = {
        "format": "twoface-report",
        "twoface_version": __version__,
        "model": str(model), "arch": swapper.config.get("arch"),
        "iteration": _iteration(model),
        "judge": "dlib ResNet (dlib_face_recognition_resnet_model_v1), cosine of unit descriptors",
        "faces": {"a": str(folders["a"]), "b": str(folders["b"]), "split": {s.upper(): how[s] for s in how},
                  "held_out": {s.upper(): len(held[s].files) for s in held}},
        "gallery": {k: int(len(v)) for k, v in gal.items()},
        "verify_threshold": threshold, "verify_calibration": VERIFY_CALIBRATION,
        "swap": {}, "reconstruction": {},
    }
    _say(progress, "evaluate: swapping and reconstructing held-out faces")
    with Landmarker() as landmarker:
        for side, other in (("a", "b"), ("b", "a")):
            h = held[side]
            if not h.images:
                continue
            crops = [to_size(im, fr.input_size) for im in h.images]
            targets = [to_size(im, fr.output_size) for im in h.images]
            pts_out = [p * (fr.output_size / im.shape[0]) for p, im in zip(h.landmarks, h.images)]
            recon, _ = swapper(crops, side)
            swapped, _ = swapper(crops, other)
            recon_u8 = [as_uint8(r) for r in recon]
            swapped_u8 = [as_uint8(s) for s in swapped]
            report["reconstruction"][side] = {
                "n": len(crops),
                "ssim": float(np.mean([metrics.ssim(r, t) for r, t in zip(recon_u8, targets)])),
                "psnr": float(np.mean([metrics.psnr(r, t) for r, t in zip(recon_u8, targets)])),
                # beside the swap's: a swap far blurrier than its own decoder's reconstructions is a
                # decoder that draws detail only for the codes it was trained on
                "sharpness_ratio": metrics.sharpness_ratio(
                    recon_u8, [face_mask(p, fr.output_size) for p in pts_out], *real[SIDES[side]])["ratio"],
            }
            emb = judge_faces(judge, swapped_u8, pts_out)
            ret = metrics.retrieval(emb, gal, SIDES[other])
            ver = metrics.verification(emb, gal[SIDES[other]], threshold)
            sharp = metrics.sharpness_ratio(swapped_u8, [face_mask(p, fr.output_size) for p in pts_out],
                                            *real[SIDES[other]])
            entry = {
                "n": ret["n"], "id_retrieval": ret["accuracy"], "chance": ret["chance"],
                "verification": ver["rate"], "sharpness_ratio": sharp["ratio"], "sharpness": sharp,
                "similarity_to_target": ret["similarity"][SIDES[other]],
                "similarity_to_source": ret["similarity"][SIDES[side]],
                "nearest": ret["nearest"],
            }
            # the judge on the real held-out faces: the ceiling the swap is compared with
            real_emb = judge_faces(judge, targets, pts_out)
            entry["real_faces_retrieval"] = metrics.retrieval(real_emb, gal, SIDES[side])["accuracy"]
            entry["real_faces_verification"] = metrics.verification(real_emb, gal[SIDES[side]], threshold)["rate"]
            entry.update(_pose_expression(landmarker, targets, swapped_u8, h.coverage))
            report["swap"][f"{side}2{other}"] = entry
    acc = [e["id_retrieval"] for e in report["swap"].values() if e["id_retrieval"] is not None]
    report["id_retrieval"] = float(np.mean(acc)) if acc else None
    report["chance"] = 1.0 / len(gal)
    for key in ("verification", "sharpness_ratio"):
        vals = [e[key] for e in report["swap"].values() if e.get(key) is not None]
        report[key] = float(np.mean(vals)) if vals else None

    if video is not None and source is not None:  # both or neither, checked above
        # the video's faces are judged in the frame at about their own size (~130 px on the dev clips)
        expressions = {name: _blendshapes(train_files[side]) for side, name in SIDES.items()}
        report["video"] = _video_report(Path(video), Path(source), judge, gal, max_frames, progress,
                                        verify_threshold(128), expressions)
    report["seconds"] = round(time.monotonic() - t0, 1)
    if output is not None:
        from ..fsutil import atomic_write_text

        atomic_write_text(output, json.dumps(report, indent=2, default=_json_default) + "\n")
    return report


def _blendshapes(files: list[Path]) -> np.ndarray:
    """The 52 blendshapes extract stored in each face PNG (faces without them are left out)."""
    from ..store.metadata import read_face_meta

    rows = []
    for f in files:
        try:
            bs = read_face_meta(f).blendshapes
        except TwofaceError:  # a face the split already read; unreadable now only if it changed since
            continue
        if bs is not None and len(bs) == 52:
            rows.append(bs)
    return np.array(rows, np.float64).reshape(-1, 52)


def _video_report(video: Path, source: Path, judge, gal: dict, max_frames: int, progress: bool,
                  threshold: float, expressions: dict[str, np.ndarray]) -> dict:
    from .video import analyse, compare

    for p in (video, source):
        if not p.exists():
            raise InputError("no such video", p)
    _say(progress, f"evaluate: analysing {video.name} and {source.name} (up to {max_frames} frames each)")
    src = analyse(source, max_frames, judge)
    sw = analyse(video, max_frames, judge, boxes=src.boxes)  # judged where the source face was
    out = {"video": str(video), "source": str(source), **compare(sw, src)}
    # who is in the source (A or B)? the target is the other one
    pair = {k: gal[k] for k in ("A", "B")}
    if src.identity and sw.identity:
        src_ret = metrics.retrieval(np.stack(src.identity), pair, "A")
        source_is = max(src_ret["nearest"], key=src_ret["nearest"].get)
        target = "B" if source_is == "A" else "A"
        ret = metrics.retrieval(np.stack(sw.identity), gal, target)
        out["identity"] = {"source_is": source_is, "target": target, "n": ret["n"],
                           "id_retrieval": ret["accuracy"], "chance": ret["chance"],
                           "verification": metrics.verification(np.stack(sw.identity), gal[target], threshold)["rate"],
                           "similarity_to_target": ret["similarity"][target],
                           "similarity_to_source": ret["similarity"][source_is], "nearest": ret["nearest"]}
        # how low the expression error can go when the target's faces are all a decoder has seen
        out["expression_floor"] = metrics.expression_floor(np.array(src.blendshapes).reshape(-1, 52),
                                                           expressions[target])
    return out


def _iteration(model: Path) -> int | None:
    try:
        from ..models.folder import find_checkpoint

        ck = find_checkpoint(model)
        return None if ck is None else ck.iteration
    except Exception:  # noqa: BLE001 - the iteration is informative only
        return None


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def _fmt(v, spec: str = ".3f") -> str:
    return "n/a" if v is None else format(v, spec)


def headline(report: dict) -> str:
    """One line: retrieval, verification and sharpness both ways, with the gallery size and chance."""
    sw = report["swap"]

    def both(key: str, spec: str) -> str:
        return ", ".join(f"{k[0].upper()}->{k[-1].upper()} {_fmt(e.get(key), spec)}" for k, e in sw.items())

    n = len(report["gallery"])
    thr = report.get("verify_threshold")
    return (f"swap quality: ID retrieval {both('id_retrieval', '.0%')} on a {n}-identity gallery "
            f"(chance {_fmt(report.get('chance'), '.0%')}); verification {both('verification', '.0%')} "
            f"(judge same-person threshold {_fmt(thr, '.3f')}); sharpness {both('sharpness_ratio', '.2f')} "
            "(1 = as detailed as real faces of the target)"
            + ("; with only A and B in the gallery retrieval is a coin toss away from chance: add people "
               "with --gallery for a real test" if n <= 2 else ""))


def summary(report: dict) -> str:
    """The report as a few readable lines."""
    lines = [f"model {report['model']} ({report.get('arch')}, iteration {report.get('iteration')})",
             f"judge: {report['judge']}; gallery: " + ", ".join(f"{k} {v}" for k, v in report["gallery"].items())]
    lines.append(headline(report))
    for key, e in report["swap"].items():
        pose = e["pose_error_deg"]
        lines.append(f"{key.upper()}: ID retrieval {_fmt(e['id_retrieval'], '.0%')} of {e['n']} (chance "
                     f"{_fmt(e['chance'], '.0%')}, real faces {_fmt(e['real_faces_retrieval'], '.0%')}); "
                     f"similarity to target {_fmt(e['similarity_to_target'])}, to source "
                     f"{_fmt(e['similarity_to_source'])}; pose error {_fmt(pose['mean'], '.1f')} deg, "
                     f"expression error {_fmt(e['expression_error'])}")
    for side, r in report["reconstruction"].items():
        lines.append(f"{side.upper()}->{side.upper()} reconstruction: SSIM {_fmt(r['ssim'])}, "
                     f"PSNR {_fmt(r['psnr'], '.2f')} dB, sharpness {_fmt(r.get('sharpness_ratio'), '.2f')} "
                     f"on {r['n']} held-out faces")
    v = report.get("video")
    if v:
        j = v["jitter"]
        lines.append(f"video: jitter ratio {_fmt(j['ratio'], '.2f')} (swap/source landmark noise), pose error "
                     f"{_fmt(v['pose_error_deg']['mean'], '.1f')} deg, expression error "
                     f"{_fmt(v['expression_error'])} over {v['frames_with_face']['both']} frames")
        if v.get("expression_floor") is not None:
            largest = ", ".join(f"{k} {d:+.2f}" for k, d in list(v.get("expression_largest", {}).items())[:3])
            lines.append(f"video expression: the target's own faces come no nearer than "
                         f"{_fmt(v['expression_floor'], '.2f')} to the source's expressions (a floor for the "
                         f"error); the swap differs most in {largest}")
        if "identity" in v:
            i = v["identity"]
            lines.append(f"video identity: {_fmt(i['id_retrieval'], '.0%')} of {i['n']} sampled frames look like "
                         f"{i['target']} (source is {i['source_is']}); similarity to target "
                         f"{_fmt(i['similarity_to_target'])}, to source {_fmt(i['similarity_to_source'])}")
    return "\n".join(lines)


from .. import _callable_stage  # noqa: E402  (so that twoface.evaluate(...) calls evaluate())

_callable_stage(__name__, "evaluate")
