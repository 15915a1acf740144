"""Model reuse on real faces: `twoface pretrain` (a prior with one generic decoder) and `train --init-from`.

What must hold: a prior trains on pooled folders of several people and is marked as one; a pair
started from it begins with exactly its encoder and, with --init-parts all, its decoder in both
sides; a pair started from a pair takes the encoder only by default; whatever does not fit
(another architecture, other options, another coverage, a folder that would be resumed) is
refused in one line with nothing written; convert refuses a prior; a prior resumes exactly.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import tiny_cli_args

from twoface.cli import main
from twoface.train import checkpoint as ck
from twoface.train import pretrain, train
from twoface.train.options import TrainOptions
from twoface.train.trainer import Trainer
from twoface_testing import cached_extract

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = ["--batch-size", "4", "--no-tensorboard", "--seed", "5", "--log-every", "2"]


@pytest.fixture(scope="session")
def faces_g(data_dir, shared_cache) -> Path:
    """A third identity: GRID speaker G1 (every 3rd of 75 frames)."""
    return cached_extract(shared_cache, data_dir / "multi_identity/grid/bbaf2n.mpg", every=3, size=128) / "faces"


@pytest.fixture(scope="session")
def prior(faces_a, faces_b, faces_g, tmp_path_factory) -> Path:
    """A tiny prior pretrained through the CLI on three people's folders (5 iterations)."""
    out = tmp_path_factory.mktemp("prior") / "prior"
    code = main(["pretrain", str(faces_a), str(faces_b), str(faces_g), "-m", str(out), *tiny_cli_args(),
                 "--iterations", "5", *QUIET])
    assert code == 0
    return out


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / ck.WEIGHTS))


def first_state(opts: TrainOptions) -> dict[str, torch.Tensor]:
    """The weights a new model starts with (the trainer built, before any step), on the CPU in fp32."""
    trainer = Trainer(opts)
    try:
        return {k: v.detach().float().cpu().contiguous() for k, v in trainer.model.state_dict().items()}
    finally:
        trainer.stream.close()


def test_pretrain_writes_a_prior_of_one_generic_decoder(prior, faces_a, faces_b, faces_g):
    config = json.loads((prior / ck.CONFIG).read_text())
    assert config["kind"] == "prior" and config["arch"] == "custom" and config["options"]["encoder_width"] == 8
    assert config["faces"]["folders"] == [str(faces_a), str(faces_b), str(faces_g)]
    assert all(n > 0 for n in config["faces"]["counts"])
    state = json.loads((prior / ck.STATE).read_text())
    assert state["iteration"] == 5 and len(state["loss_history"]["curve"]) >= 2
    w = weights(prior)
    assert {k.split(".")[0] for k in w} == {"encoder", "decoder_a"}  # the one decoder, stored once
    import cv2

    grid = cv2.imread(str(prior / "previews" / "latest.jpg"))
    assert grid is not None and grid.shape[1] == 4 * 128  # face, rebuilt, face, rebuilt
    model, cfg = ck.load_model(prior)
    assert model.generic and cfg["kind"] == "prior"
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x, "a"), model(x, "b"))


def test_pair_from_a_prior_starts_with_its_encoder_and_decoder_in_both(prior, faces_a, faces_b, tmp_path, tiny_kwargs):
    kw = {k: v for k, v in tiny_kwargs.items() if k not in ("arch", "options")}  # both come from the prior
    opts = TrainOptions(faces_a, faces_b, tmp_path / "ab", init_from=str(prior), init_parts="all", **kw)
    start, p = first_state(opts), weights(prior)
    decoder = {k[len("decoder_a."):]: v for k, v in p.items() if k.startswith("decoder_a.")}
    for k, v in start.items():
        part, _, rest = k.partition(".")
        want = p[k] if part == "encoder" else decoder[rest]
        assert torch.equal(v, want.float()), f"{k} does not start as the prior's"
    assert len(start) == len([k for k in p if k.startswith("encoder.")]) + 2 * len(decoder)

    summary = train(faces_a, faces_b, tmp_path / "ab", iterations=4, init_from=str(prior), init_parts="all", **kw)
    assert summary["iteration"] == 4 and summary["arch"] == "custom"
    config = json.loads((tmp_path / "ab" / ck.CONFIG).read_text())
    init = config["init_from"]
    assert config["kind"] == "pair" and config["options"] == json.loads((prior / ck.CONFIG).read_text())["options"]
    assert init["path"] == str(prior.resolve()) and init["kind"] == "prior" and init["arch"] == "custom"
    assert init["iteration"] == 5 and init["parts"] == "all"
    assert init["weights_sha256"] == json.loads((prior / ck.STATE).read_text())["files"][ck.WEIGHTS]
    trained = weights(tmp_path / "ab")
    assert not torch.equal(trained["decoder_b.head.conv.weight"], trained["decoder_a.head.conv.weight"])
    # resuming keeps the record (and needs no --init-from)
    train(faces_a, faces_b, tmp_path / "ab", iterations=5, **kw)
    assert json.loads((tmp_path / "ab" / ck.CONFIG).read_text())["init_from"] == init


def test_pair_from_a_pair_takes_the_encoder_only_by_default(faces_a, faces_b, faces_g, tmp_path, tiny_kwargs):
    source = tmp_path / "ab"
    train(faces_a, faces_b, source, iterations=3, **tiny_kwargs)
    kw = {k: v for k, v in tiny_kwargs.items() if k not in ("arch", "options")}
    start = first_state(TrainOptions(faces_a, faces_g, tmp_path / "ag", init_from=str(source), **kw))
    src = weights(source)
    encoder = [k for k in start if k.startswith("encoder.")]
    assert encoder and all(torch.equal(start[k], src[k].float()) for k in encoder)
    for side in ("decoder_a", "decoder_b"):
        keys = [k for k in start if k.startswith(side + ".") and k.endswith("weight")]
        assert keys and not any(torch.equal(start[k], src[k].float()) for k in keys), f"{side} was copied"
    assert main(["train", "--faces-a", str(faces_a), "--faces-b", str(faces_g), "-m", str(tmp_path / "ag"),
                 "--init-from", str(source), "--iterations", "3", "--no-quality", *QUIET]) == 0
    config = json.loads((tmp_path / "ag" / ck.CONFIG).read_text())
    assert config["arch"] == "custom" and config["init_from"]["parts"] == "encoder"


def test_what_does_not_fit_is_refused_in_one_line(prior, faces_a, faces_b, tmp_path, capsys):
    def refused(model_dir: Path, *extra: str) -> str:
        capsys.readouterr()
        code = main(["train", "--faces-a", str(faces_a), "--faces-b", str(faces_b), "-m", str(model_dir),
                     "--iterations", "3", "--no-quality", *QUIET, *extra])
        err = capsys.readouterr().err.strip()
        assert code == 2, err
        assert len(err.splitlines()) == 1 and err.startswith("twoface train: error:") and "Traceback" not in err
        return err

    new = tmp_path / "new"
    err = refused(new, "--init-from", str(prior), "--arch", "lightweight")
    assert f"{prior}: is a custom prior, this one is lightweight: its encoder does not fit" in err
    assert not new.exists(), "a refused run must write nothing"
    err = refused(new, "--init-from", str(prior), "--option", "encoder_width=16")
    assert "its encoder does not fit" in err and "encoder_width=8 there, 16 here" in err
    assert "encoder.down.0.conv.weight is [16, 3, 5, 5] here, [8, 3, 5, 5] there" in err
    err = refused(new, "--init-from", str(prior), "--init-parts", "all", "--option", "learn_mask=true")
    assert "its decoder A, decoder B" in err and "--init-parts encoder would copy the encoder alone" in err
    assert not new.exists()
    err = refused(new, "--init-from", str(tmp_path / "nothing"))
    assert "no such model folder" in err and not new.exists()

    # a folder holding a model that would be resumed is not replaced by --init-from
    held = tmp_path / "held"
    assert main(["train", "--faces-a", str(faces_a), "--faces-b", str(faces_b), "-m", str(held), *tiny_cli_args(),
                 "--iterations", "2", "--no-quality", *QUIET]) == 0
    before = {p.name: p.read_bytes() for p in held.iterdir() if p.is_file() and p.name != ".lock"}
    err = refused(held, "--init-from", str(prior))
    assert "would resume" in err and "--no-resume" in err
    assert before == {p.name: p.read_bytes() for p in held.iterdir() if p.is_file() and p.name != ".lock"}
    # nor is a prior trained on as if it were a pair
    err = refused(prior)
    assert "is a pretrained prior, not a swap model" in err and "--init-from" in err


def test_other_coverages_are_refused(prior, faces_a, data_dir, shared_cache, tmp_path, capsys):
    """Faces framed otherwise than the prior's (coverage 1.0 against 0.75): refused, as on resume."""
    wide = [cached_extract(shared_cache, data_dir / f"multi_identity/grid/{clip}.mpg", every=5, size=128,
                           coverage=1.0) / "faces" for clip in ("lbax4n", "lbbc2a")]
    capsys.readouterr()
    code = main(["train", "--faces-a", str(wide[0]), "--faces-b", str(wide[1]), "-m", str(tmp_path / "m"),
                 "--init-from", str(prior), "--iterations", "2", "--no-quality", *QUIET])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (f"twoface train: error: {prior / ck.CONFIG}: the model was trained on faces at "
                                 "coverage 0.75, these faces are at 1.0; extract them with --coverage 0.75")
    assert not (tmp_path / "m").exists()
    code = main(["pretrain", str(faces_a), str(wide[0]), "-m", str(tmp_path / "p"), "--iterations", "2", *QUIET])
    err = capsys.readouterr().err
    assert code == 2 and f"{wide[0]}: faces extracted at coverage 1.0" in err and "one coverage" in err
    assert not (tmp_path / "p").exists()


def test_convert_and_export_refuse_a_prior(prior, data_dir, tmp_path, capsys):
    out = tmp_path / "out.png"
    capsys.readouterr()
    assert main(["convert", str(data_dir / "convert/no_face_coffee.png"), "-m", str(prior), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"twoface convert: error: {prior}: is a pretrained prior, not a swap model: train a pair from it "
                   f"with `twoface train --init-from {prior} --init-parts all`")
    assert not out.exists()
    assert main(["export", str(prior), "-o", str(tmp_path / "p.onnx")]) == 2
    assert "is a pretrained prior" in capsys.readouterr().err and not (tmp_path / "p.onnx").exists()


def test_pretrain_resume_is_exact(faces_a, faces_g, tmp_path, tiny_kwargs):
    """N straight iterations == N/2, resume, N/2 more, for a prior as for a pair: bit for bit."""
    kw = {**tiny_kwargs, "batch_size": 4, "precision": "fp32", "log_every": 2}
    kw.pop("quality")
    straight, split = tmp_path / "straight", tmp_path / "split"
    pretrain([faces_a, faces_g], straight, iterations=6, **kw)
    assert pretrain([faces_a, faces_g], split, iterations=3, **kw)["iteration"] == 3
    second = pretrain([faces_a, faces_g], split, iterations=6, **kw)
    assert second["start_iteration"] == 3 and second["iteration"] == 6
    for name in (ck.WEIGHTS, ck.OPTIMIZER):
        a, b = load_file(str(straight / name)), load_file(str(split / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_a_prior_of_iae_fills_both_intermediates(tmp_path):
    """IAE's per-side parts are its intermediate networks (its decoder is shared): a prior keeps inter_a only."""
    from twoface.models import build
    from twoface.models.folder import Weights
    from twoface.models.transfer import transfer

    torch.manual_seed(0)
    prior_model = build("iae")
    prior_model.make_generic()
    tensors = {k: v.clone() for k, v in prior_model.state_dict().items()}
    assert {k.split(".")[0] for k in tensors} == {"encoder", "inter_a", "inter_both", "decoder"}
    source = Weights(tmp_path, {"arch": "iae", "kind": "prior", "options": dict(prior_model.options)}, tensors,
                     tmp_path / ck.WEIGHTS, 7, "0" * 64)
    pair = build("iae")
    record = transfer(pair, source, "all")
    state = pair.state_dict()
    for k, v in state.items():
        part, _, rest = k.partition(".")
        assert torch.equal(v, tensors[f"inter_a.{rest}" if part == "inter_b" else k]), k
    assert record["parts"] == "all" and record["iteration"] == 7 and record["tensors"] == len(state)
