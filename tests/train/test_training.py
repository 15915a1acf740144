"""Training a tiny real model on real extracted faces, through the Python API.

What must hold: the losses fall, the model folder is complete and loadable, previews and
TensorBoard logs appear, and a run split in two by a resume ends with bit-identical weights.
"""
from __future__ import annotations

import json

import cv2
import pytest
import torch
from safetensors.torch import load_file

from twoface.errors import ModelError, TwofaceError
from twoface.train import checkpoint as ck
from twoface.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def curve(model_dir):
    state = json.loads((model_dir / "state.json").read_text())
    return state["loss_history"]["curve"]


def test_losses_fall_and_model_folder_is_complete(faces_a, faces_b, tmp_path, tiny_kwargs):
    model_dir = tmp_path / "model"
    kw = {**tiny_kwargs, "eval_every": 80, "preview_every": 80, "save_every": 40, "quality": True,
          "tensorboard": True, "timelapse": "2"}
    summary = train(faces_a, faces_b, model_dir, iterations=80, **kw)
    assert summary["iteration"] == 80 and summary["iterations_run"] == 80

    points = curve(model_dir)
    assert [p[0] for p in points] == list(range(1, 81))
    for side in (1, 2):  # A, B
        first = sum(p[side] for p in points[:10]) / 10
        last = sum(p[side] for p in points[-10:]) / 10
        assert last < first, f"side {'AB'[side - 1]}: loss did not fall ({first:.4f} -> {last:.4f})"
    # held-out faces improve too (validation at iteration 0 and 80)
    assert summary["valid"]["a"] < summary["valid_first"]["a"]
    assert summary["valid"]["b"] < summary["valid_first"]["b"]
    # the identity signal is measured, with its references: real B is closer to B than real A is
    ident = summary["identity"]
    refs = ident["references"]
    assert -1 <= ident["a2b"] <= 1 and -1 <= ident["b2a"] <= 1
    assert refs["b_real_to_b"] > refs["a_real_to_b"] + 0.2
    assert summary["faces_per_s"] > 0

    for name in ("config.json", "weights.safetensors", "optimizer.safetensors", "state.json"):
        assert (model_dir / name).is_file(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["arch"] == "custom" and config["options"]["encoder_width"] == 8
    assert config["faces"]["coverage"] > 0 and config["faces"]["size"] == 128
    assert config["training"]["loss"] == "ssim:1,mse:1"
    weights = load_file(str(model_dir / "weights.safetensors"))
    assert {k.split(".")[0] for k in weights} == {"encoder", "decoder_a", "decoder_b"}
    state = json.loads((model_dir / "state.json").read_text())
    assert state["iteration"] == 80
    assert set(state["face_sets"]) == {"a", "b"} and all(len(v["fingerprint"]) == 16 for v in state["face_sets"].values())
    assert {"torch", "numpy", "python"} <= set(state["rng"][0])

    grid = cv2.imread(str(model_dir / "previews" / "latest.jpg"))
    assert grid is not None and grid.shape[1] == 6 * 128  # A, A->A, A->B, B, B->B, B->A
    frames = sorted((model_dir / "timelapse").glob("*.jpg"))
    assert [f.stem for f in frames] == ["00000080"]
    assert list((model_dir / "logs").glob("events.out.tfevents.*"))

    model, cfg = ck.load_model(model_dir)
    assert not model.training and cfg["arch"] == "custom"
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert model(x, "b").shape == (2, 3, 64, 64)


@pytest.mark.parametrize("precision,extra", [("fp32", {}), ("bf16", {"gan": True, "learn_mask": True, "clip": "autoclip",
                                                                     "true_face": 0.1})],
                         ids=["fp32", "bf16-gan-mask-autoclip-trueface"])
def test_resume_is_exact(faces_a, faces_b, tmp_path, tiny_kwargs, precision, extra):
    """N straight iterations == N/2, resume, N/2 more: the same weights and optimizer state, bit for bit."""
    kw = {**tiny_kwargs, **extra, "precision": precision, "log_every": 2}
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(faces_a, faces_b, straight, iterations=12, **kw)
    first = train(faces_a, faces_b, split, iterations=6, **kw)
    assert first["iteration"] == 6
    second = train(faces_a, faces_b, split, iterations=12, **kw)
    assert second["start_iteration"] == 6 and second["iteration"] == 12
    for name in ("weights.safetensors", "optimizer.safetensors"):
        a, b = load_file(str(straight / name)), load_file(str(split / name))
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f"{name}: {len(different)} tensors differ, e.g. {different[0]}"
    if extra.get("gan"):
        assert any(k.startswith("discriminator_a.") for k in load_file(str(split / "weights.safetensors")))
    if extra.get("true_face"):
        assert any(k.startswith("code_discriminator.") for k in load_file(str(split / "weights.safetensors")))
        assert any(k.startswith("code_discriminator.") for k in load_file(str(split / "optimizer.safetensors")))
    # the loss curve continues where it stopped
    assert curve(straight) == curve(split)


def test_snapshot_and_already_trained_far_enough(faces_a, faces_b, tmp_path, tiny_kwargs):
    train(faces_a, faces_b, tmp_path / "m", iterations=3, snapshot_every=2, **tiny_kwargs)
    snap = tmp_path / "m" / "snapshots" / "2"
    assert ck.find_checkpoint(snap).iteration == 2  # a snapshot is a complete model folder of its own
    ck.load_model(snap)
    assert ck.find_checkpoint(tmp_path / "m").iteration == 3
    before = (tmp_path / "m" / "state.json").read_bytes()
    summary = train(faces_a, faces_b, tmp_path / "m", iterations=3, **tiny_kwargs)
    assert summary["iterations_run"] == 0
    assert (tmp_path / "m" / "state.json").read_bytes() == before


def test_load_model_names_the_mismatch(faces_a, faces_b, tmp_path, tiny_kwargs):
    model_dir = tmp_path / "m"
    train(faces_a, faces_b, model_dir, iterations=1, **tiny_kwargs)
    config = json.loads((model_dir / "config.json").read_text())
    config["options"]["latent"] = 64  # the weights were trained with 32
    (model_dir / "config.json").write_text(json.dumps(config))
    (model_dir / "config.json.prev").unlink(missing_ok=True)
    (model_dir / "state.json").unlink()  # a hand-assembled folder: config.json + weights.safetensors
    with pytest.raises(ModelError, match=r"weights\.safetensors.*shape"):
        ck.load_model(model_dir)
    with pytest.raises(ModelError, match="not a twoface model"):
        ck.load_model(tmp_path)


def test_no_resume_starts_over(faces_a, faces_b, tmp_path, tiny_kwargs):
    model_dir = tmp_path / "m"
    train(faces_a, faces_b, model_dir, iterations=3, **tiny_kwargs)
    narrower = {**tiny_kwargs, "options": {**tiny_kwargs["options"], "latent": 16}}
    summary = train(faces_a, faces_b, model_dir, iterations=2, resume=False, **narrower)
    assert summary["start_iteration"] == 0 and summary["iteration"] == 2
    assert json.loads((model_dir / "config.json").read_text())["options"]["latent"] == 16
    # the replaced model survives as the previous checkpoint until the next save
    assert json.loads((model_dir / "config.json.prev").read_text())["options"]["latent"] == 32
    assert json.loads((model_dir / "state.json.prev").read_text())["iteration"] == 3
    assert ck.find_checkpoint(model_dir).iteration == 2


def test_divergence_stops_without_saving(faces_a, faces_b, tmp_path, tiny_kwargs):
    model_dir = tmp_path / "m"
    train(faces_a, faces_b, model_dir, iterations=2, **tiny_kwargs)
    wild = {**tiny_kwargs, "lr": 1e30, "precision": "fp32"}
    with pytest.raises(TwofaceError, match="diverged.*iteration 2\\) is intact"):
        train(faces_a, faces_b, model_dir, iterations=50, **wild)
    assert ck.find_checkpoint(model_dir).iteration == 2


def test_a_late_gan_starts_at_its_share_of_the_budget(faces_a, faces_b, tmp_path, tiny_kwargs):
    """--gan-start 0.5: the first half trains exactly as without the GAN, the second half differs, and
    the discriminators learn only in the second half."""
    plain, late = tmp_path / "plain", tmp_path / "late"
    train(faces_a, faces_b, plain, iterations=8, **tiny_kwargs)
    summary = train(faces_a, faces_b, late, iterations=8, gan=True, gan_start=0.5, **tiny_kwargs)
    assert summary["iteration"] == 8
    first, second = curve(plain), curve(late)
    assert first[:4] == second[:4]  # before the start: not one bit of the GAN in the step
    assert first[4:] != second[4:]
    weights = load_file(str(late / "weights.safetensors"))
    assert any(k.startswith("discriminator_a.") for k in weights)
    config = json.loads((late / "config.json").read_text())
    assert config["training"]["gan_start"] == 0.5


def test_a_late_phase_needs_a_budget(faces_a, faces_b, tmp_path, tiny_kwargs):
    with pytest.raises(TwofaceError, match="--gan-start is a share of the budget: give --iterations or --minutes"):
        train(faces_a, faces_b, tmp_path / "m", gan=True, gan_start=0.5, **tiny_kwargs)
    with pytest.raises(TwofaceError, match="--gan-start starts --gan late; give --gan too"):
        train(faces_a, faces_b, tmp_path / "m", iterations=4, gan_start=0.5, **tiny_kwargs)
    with pytest.raises(TwofaceError, match=r"--identity-start is a share of the budget in \[0, 1\), got 1.5"):
        train(faces_a, faces_b, tmp_path / "m", iterations=4, identity_start=1.5, **tiny_kwargs)
    assert not (tmp_path / "m").exists()


def test_warp_stop_stops_the_warp_at_its_share_and_resumes_exactly(faces_a, faces_b, tmp_path, tiny_kwargs):
    """--warp-stop 0.5: the first half trains exactly as without it, the second half differs (the inputs
    are no longer warped); a run resumed after the stop matches the straight run bit for bit."""
    plain, late = tmp_path / "plain", tmp_path / "late"
    kw = {**tiny_kwargs, "precision": "fp32"}
    train(faces_a, faces_b, plain, iterations=8, **kw)
    train(faces_a, faces_b, late, iterations=8, warp_stop=0.5, **kw)
    first, second = curve(plain), curve(late)
    assert first[:4] == second[:4] and first[4:] != second[4:]
    assert json.loads((late / "config.json").read_text())["training"]["warp_stop"] == 0.5
    state = json.loads((late / "state.json").read_text())
    assert state["data"][0]["a"]["warp_from"] == 4 and state["data"][0]["b"]["warp_from"] == 4
    # both stop at iteration 2: 0.125 of 16, and 0.25 of the split run's first 8
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(faces_a, faces_b, straight, iterations=16, warp_stop=0.125, **kw)
    train(faces_a, faces_b, split, iterations=8, warp_stop=0.25, **kw)
    train(faces_a, faces_b, split, iterations=16, warp_stop=0.125, **kw)
    a, b = load_file(str(straight / "weights.safetensors")), load_file(str(split / "weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(TwofaceError, match="--warp-stop stops the random warp late, and --no-warp"):
        train(faces_a, faces_b, tmp_path / "m", iterations=4, warp_stop=0.5, warp=False, **kw)
    with pytest.raises(TwofaceError, match="--warp-stop is a share of the budget: give --iterations"):
        train(faces_a, faces_b, tmp_path / "m", warp_stop=0.5, **kw)


def test_gan_swaps_puts_the_swaps_before_the_discriminators(faces_a, faces_b, tmp_path, tiny_kwargs):
    """--gan-swaps: the same late GAN, but the discriminators also judge the swaps (the faces convert
    shows, which no pixel loss reaches): before the start not one bit differs from --gan alone, after it
    the step does, the setting is recorded, and without --gan it is refused."""
    recon, swaps = tmp_path / "recon", tmp_path / "swaps"
    late = {**tiny_kwargs, "iterations": 8, "gan": True, "gan_start": 0.5}
    train(faces_a, faces_b, recon, **late)
    train(faces_a, faces_b, swaps, gan_swaps=True, **late)
    first, second = curve(recon), curve(swaps)
    assert first[:4] == second[:4]
    assert first[4:] != second[4:]
    assert json.loads((swaps / "config.json").read_text())["training"]["gan_swaps"] is True
    with pytest.raises(TwofaceError, match="--gan-swaps says what the discriminators of --gan judge; give --gan too"):
        train(faces_a, faces_b, tmp_path / "m", iterations=4, gan_swaps=True, **tiny_kwargs)
    assert not (tmp_path / "m").exists()


def test_true_face_trains_a_code_discriminator_the_model_does_not_need(faces_a, faces_b, tmp_path, tiny_kwargs):
    """--true-face: the step changes, the code discriminator learns (it tells the sides' codes apart more
    often than chance), its weights travel with the checkpoint, and the model loads without them."""
    from twoface.train import pretrain

    plain, coded = tmp_path / "plain", tmp_path / "coded"
    kw = {**tiny_kwargs, "iterations": 30, "precision": "fp32"}
    train(faces_a, faces_b, plain, **kw)
    summary = train(faces_a, faces_b, coded, true_face=0.1, **kw)
    assert curve(plain)[0] == curve(coded)[0]  # the first forward is the same; the steps then differ
    assert curve(plain)[1:] != curve(coded)[1:]
    assert summary["losses"]["true_face/acc"] > 0.5
    assert {"true_face/g", "true_face/d"} <= set(summary["losses"])
    weights = load_file(str(coded / "weights.safetensors"))
    assert any(k.startswith("code_discriminator.") for k in weights)
    assert json.loads((coded / "config.json").read_text())["training"]["true_face"] == 0.1
    model, _ = ck.load_model(coded)
    assert not any(k.startswith("code_discriminator.") for k in model.state_dict())
    with pytest.raises(TwofaceError, match="--true-face must be >= 0"):
        train(faces_a, faces_b, tmp_path / "m", true_face=-1, **kw)
    with pytest.raises(TwofaceError, match="a prior has no two people to tell apart"):
        pretrain([faces_a, faces_b], tmp_path / "p", true_face=0.1, **kw)
    assert not (tmp_path / "m").exists() and not (tmp_path / "p").exists()


def test_an_fp32_only_cpu_is_named_at_the_start(faces_a, faces_b, tmp_path, tiny_kwargs, capsys):
    """Without bf16 units the README's CPU timings do not hold; the run says so (only when auto chose fp32)."""
    from twoface.device import cpu_has_bf16

    train(faces_a, faces_b, tmp_path / "auto", iterations=1, **tiny_kwargs)
    auto = capsys.readouterr().out
    assert "new model" in auto and ("no bf16 units" in auto) == (not cpu_has_bf16())
    train(faces_a, faces_b, tmp_path / "fp32", iterations=1, precision="fp32", **tiny_kwargs)
    chosen = capsys.readouterr().out
    assert "cpu fp32" in chosen and "no bf16 units" not in chosen  # the user chose it: nothing to explain
