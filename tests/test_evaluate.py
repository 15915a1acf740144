"""evaluate: the metrics on real faces, the dlib judge, and (below) the whole report on a tiny model."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.evaluate import metrics


def _frame(path, index):
    import av

    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="bgr24")
    raise AssertionError("clip too short")


@pytest.fixture(scope="module")
def clip_frames(data_dir):
    a = data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4"
    b = data_dir / "train/person_b_cremad_actor1001/1001_DFA_NEU_XX.flv"
    g = data_dir / "multi_identity/grid/bbaf2n.mpg"
    return {"a": [_frame(a, i) for i in (10, 60, 200)], "b": [_frame(b, i) for i in (5, 30, 50)],
            "g": [_frame(g, i) for i in (5, 40)]}


def test_ssim_and_psnr_on_a_real_face(clip_frames):
    face = clip_frames["a"][0][60:280, 360:580]
    assert metrics.ssim(face, face) == pytest.approx(1.0)
    assert metrics.psnr(face, face) == float("inf")
    mild, strong = cv2.GaussianBlur(face, (0, 0), 1.0), cv2.GaussianBlur(face, (0, 0), 4.0)
    assert 1.0 > metrics.ssim(face, mild) > metrics.ssim(face, strong)
    assert metrics.psnr(face, mild) > metrics.psnr(face, strong) > 15
    other = cv2.resize(clip_frames["b"][0][40:190, 140:290], face.shape[1::-1])
    assert metrics.ssim(face, other) < metrics.ssim(face, strong)
    # float images in [0, 1] give the same answers as uint8
    assert metrics.ssim(face.astype(np.float32) / 255, mild.astype(np.float32) / 255) == \
        pytest.approx(metrics.ssim(face, mild), abs=2e-3)
    assert metrics.psnr(face.astype(np.float32) / 255, mild.astype(np.float32) / 255) == \
        pytest.approx(metrics.psnr(face, mild), abs=0.05)


def test_pose_error_wraps_angles_and_expression_error_is_l2():
    src = np.array([[179.0, 10, 0], [0, 0, 0]])
    swp = np.array([[-179.0, 12, 1], [3, 0, -1]])
    err = metrics.pose_error(src, swp)
    assert err["yaw"] == pytest.approx(2.5) and err["pitch"] == pytest.approx(1) and err["roll"] == pytest.approx(1)
    a, b = np.zeros((2, 52)), np.zeros((2, 52))
    b[0, :4] = 0.5  # L2 = 1.0 for the first pair, 0 for the second
    assert metrics.expression_error(a, b) == pytest.approx(0.5)
    assert metrics.expression_error(np.zeros((0, 52)), np.zeros((0, 52))) is None


def test_expression_floor_is_the_nearest_target_face():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 1, (6, 52))
    assert metrics.expression_floor(source, np.vstack([source, rng.uniform(0, 1, (4, 52))])) == 0.0
    one = rng.uniform(0, 1, (1, 52))  # a target with one expression: the floor is the error against it
    assert metrics.expression_floor(source, one) == pytest.approx(metrics.expression_error(source, np.repeat(one, 6, 0)))
    two = np.vstack([one, source[:3] + 0.01])  # more faces can only lower it
    assert metrics.expression_floor(source, two) < metrics.expression_floor(source, one)
    assert metrics.expression_floor(source, np.zeros((0, 52))) is None


def test_expression_largest_names_the_blendshapes_that_differ_most():
    from twoface.faces import BLENDSHAPE_NAMES

    source, swapped = np.zeros((3, 52)), np.zeros((3, 52))
    swapped[:, BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.6
    swapped[:, BLENDSHAPE_NAMES.index("browDownLeft")] = -0.3
    largest = metrics.expression_largest(source, swapped, BLENDSHAPE_NAMES, k=2)
    assert largest == {"mouthSmileLeft": 0.6, "browDownLeft": -0.3}


def test_jitter_separates_shaking_from_moving():
    rng = np.random.default_rng(1)
    t = np.arange(60)[:, None, None]
    base = rng.uniform(0, 100, (1, 20, 2))
    moving = base + t * np.array([3.0, 1.0])  # steady motion: no jitter
    shaking = moving + rng.normal(0, 1.0, moving.shape)
    assert metrics.landmark_noise(moving) == pytest.approx(0, abs=1e-9)
    assert metrics.landmark_noise(shaking) > 0.01
    r = metrics.jitter_ratio([shaking], [moving + rng.normal(0, 0.5, moving.shape)])
    assert 1.5 < r["ratio"] < 2.5  # twice the noise -> about twice the ratio
    assert metrics.landmark_noise(moving[:2]) is None


def test_the_dlib_judge_tells_people_apart_and_retrieval_counts_it(clip_frames):
    from twoface.evaluate.judge import Judge

    judge = Judge()
    emb = {k: np.stack([judge.embed(f) for f in v]) for k, v in clip_frames.items()}
    for k in emb:
        assert np.allclose(np.linalg.norm(emb[k], axis=1), 1, atol=1e-4)
    same = float(emb["a"][0] @ emb["a"][1])
    cross = float(emb["a"][0] @ emb["b"][0])
    assert same > cross + 0.05
    gallery = {"A": emb["a"][:2], "B": emb["b"][:2], "G": emb["g"]}
    r = metrics.retrieval(np.stack([emb["a"][2], emb["b"][2]]), gallery, "A")
    assert r["n"] == 2 and r["accuracy"] == 0.5 and r["chance"] == pytest.approx(1 / 3)
    assert r["nearest"] == {"A": 1, "B": 1, "G": 0}
    assert metrics.retrieval(emb["b"][2:], gallery, "B")["accuracy"] == 1.0


# ---- the whole report, on a tiny trained model and a video it converted ----
from convert.convert_fixtures import tiny_model, two_faces_store, two_faces_with_audio  # noqa: E402,F401 (fixtures)


def _number(x) -> bool:
    return isinstance(x, float) and np.isfinite(x)


def test_the_report_has_every_metric(tmp_path, data_dir, tiny_model, faces_a, faces_b, two_faces_with_audio,
                                     two_faces_store):
    import json

    from twoface.convert import convert
    from twoface.evaluate import evaluate, summary

    video = tmp_path / "swapped.mp4"
    convert(two_faces_with_audio, tiny_model, video, store=two_faces_store, frames="0-29", progress=False)
    gallery = tmp_path / "grid_man"
    gallery.mkdir()
    cv2.imwrite(str(gallery / "g1.png"), _frame(data_dir / "multi_identity/grid/bbaf2n.mpg", 5))
    cv2.imwrite(str(gallery / "g2.png"), _frame(data_dir / "multi_identity/grid/bbaf2n.mpg", 50))
    out = tmp_path / "report.json"
    report = evaluate(tiny_model, faces_a, faces_b, video=video, source=two_faces_with_audio, gallery=[gallery],
                      output=out, max_faces=6, gallery_faces=6, max_frames=20, progress=False)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["gallery"] == {"A": 6, "B": 6, "grid_man": 2}
    assert report["faces"]["split"]["A"].startswith("model holdout")
    for key in ("a2b", "b2a"):
        e = report["swap"][key]
        assert e["n"] >= 1 and 0.0 <= e["id_retrieval"] <= 1.0 and e["chance"] == pytest.approx(1 / 3)
        assert _number(e["similarity_to_target"]) and _number(e["similarity_to_source"])
        assert e["real_faces_retrieval"] == 1.0  # the judge knows the real held-out faces
        assert set(e["pose_error_deg"]) == {"yaw", "pitch", "roll", "mean"} and "expression_error" in e
    for side in ("a", "b"):
        r = report["reconstruction"][side]
        assert r["n"] >= 1 and 0 < r["ssim"] <= 1 and r["psnr"] > 5 and _number(r["sharpness_ratio"])
        assert r["sharpness_ratio"] > 0
    v = report["video"]
    assert v["frames_with_face"]["both"] >= 15
    assert _number(v["jitter"]["ratio"]) and v["jitter"]["ratio"] > 0
    assert _number(v["pose_error_deg"]["mean"]) and _number(v["expression_error"])
    assert v["identity"]["n"] >= 3 and v["identity"]["source_is"] in ("A", "B")
    # the floor: the target's own faces (their extract blendshapes), nearest per source frame
    assert _number(v["expression_floor"]) and v["expression_floor"] >= 0
    assert len(v["expression_largest"]) == 5 and all(-1 <= d <= 1 for d in v["expression_largest"].values())
    for key in ("a2b", "b2a"):
        e = report["swap"][key]
        assert 0.0 <= e["verification"] <= 1.0 and e["real_faces_verification"] >= 0.5
        assert _number(e["sharpness_ratio"]) and e["sharpness_ratio"] > 0
    assert 0.9 < report["verify_threshold"] < 1.0
    text = summary(report)
    assert "ID retrieval" in text and "jitter ratio" in text and "SSIM" in text
    assert "3-identity gallery (chance 33%)" in text and "verification" in text and "sharpness" in text


def test_evaluate_cli_errors_are_one_line(tmp_path, capsys, tiny_model, faces_b):
    from twoface.cli import main

    code = main(["evaluate", "-m", str(tiny_model), "--faces-a", str(tmp_path / "missing"), "--faces-b", str(faces_b),
                 "-o", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "missing" in err and len(err.splitlines()) == 1
    code = main(["evaluate", "-m", str(tiny_model), "--faces-a", str(faces_b), "--faces-b", str(faces_b),
                 "--video", str(tmp_path / "x.mp4")])
    assert code == 2 and "--source" in capsys.readouterr().err


# ---- the yardstick of issue 14: sharpness ratio and verification ----
def test_a_blurred_face_scores_lower_sharpness_than_the_real_one(clip_frames):
    face = cv2.resize(clip_frames["a"][0][60:280, 360:580], (64, 64), interpolation=cv2.INTER_AREA)
    mask = np.zeros((64, 64), np.float32)
    cv2.ellipse(mask, (32, 34), (22, 28), 0, 0, 360, 1.0, -1)
    mild, strong = cv2.GaussianBlur(face, (0, 0), 0.8), cv2.GaussianBlur(face, (0, 0), 2.0)
    real = metrics.sharpness(face, mask)
    assert real > metrics.sharpness(mild, mask) > metrics.sharpness(strong, mask) > 0
    r = metrics.sharpness_ratio([strong, strong], [mask, mask], [face, face], [mask, mask])
    assert r["ratio"] < 0.2 and r["real"] == pytest.approx(real)
    same = metrics.sharpness_ratio([face], [mask], [face], [mask])
    assert same["ratio"] == pytest.approx(1.0)
    # the mask matters: a sharp background outside it does not count
    noisy_bg = strong.copy()
    noisy_bg[mask < 0.5] = np.random.default_rng(0).integers(0, 255, noisy_bg[mask < 0.5].shape, dtype=np.uint8)
    assert metrics.sharpness(noisy_bg, mask) == pytest.approx(metrics.sharpness(strong, mask))


def test_the_same_person_passes_verification_and_a_different_one_fails(faces_a, faces_b):
    from twoface.evaluate.faces import evenly, judge_faces, load_faces, to_size
    from twoface.evaluate.judge import Judge, verify_threshold
    from twoface.store.metadata import list_face_files

    judge, size = Judge(), 64
    emb = {}
    for name, folder in (("A", faces_a), ("B", faces_b)):
        h = load_faces(evenly(list_face_files(folder), 12))
        emb[name] = judge_faces(judge, [to_size(im, size) for im in h.images],
                                [p * (size / im.shape[0]) for p, im in zip(h.landmarks, h.images)])
    thr = verify_threshold(size)
    gallery_a, probes_a = emb["A"][0::2], emb["A"][1::2]
    same = metrics.verification(probes_a, gallery_a, thr)
    other = metrics.verification(emb["B"], gallery_a, thr)
    assert same["n"] == 6 and same["rate"] == 1.0
    assert other["n"] == 12 and other["rate"] == 0.0
    assert same["mean_similarity"] > thr > other["mean_similarity"]


def test_calibration_takes_the_one_percent_false_accept_point():
    rng = np.random.default_rng(3)
    ids = {n: rng.normal(size=16) for n in "PQRS"}
    def faces(n, k):  # noqa: E306
        return ids[n] + rng.normal(scale=0.3, size=(k, 16))
    probes = {n: faces(n, 50) for n in ids}
    gallery = {n: faces(n, 50) for n in ids}
    c = metrics.calibrate_threshold(probes, gallery)
    assert c["same_pairs"] == 200 and c["diff_pairs"] == 600 and c["feasible"]
    assert c["diff_pass"] <= 0.01 and c["same_pass"] >= 0.99 and c["upper"] >= c["threshold"]
    # a stricter false-accept bound can only raise the threshold
    assert metrics.calibrate_threshold(probes, gallery, diff_pass=0.0)["threshold"] >= c["threshold"]
