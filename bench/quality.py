"""Swap quality per unit of work: configurations trained on the dev pair, judged on the same yardstick.

Each run trains one configuration on the dev pair (A: the Pexels clip; B: the CREMA-D clips with
``1001_DFA_SAD_XX.flv`` held out), converts the held-out SAD clip (B into A), and evaluates it with
``twoface evaluate`` on the 12-identity gallery (A, B and the 10 GRID speakers): ID retrieval both
ways, verification, sharpness ratio, pose and expression error, jitter ratio. Work is counted in
iterations and in CPU-seconds (``getrusage`` of the child process, all threads), so a busy machine
does not flatter or punish a run. ``baseline`` is today's demo configuration (``lightweight``, adam
5e-5, ssim+mse, batch 16) and is always in the table: every other row is read against it.

Faces are extracted once (as the demo does: 128 px, every frame) into ``--out``/faces and reused.
Each run lives in ``--out``/runs/<config>@<budget>/ (model, video, train.json, report.json) and is
skipped when its report exists, so the script can be stopped and re-run; ``--table`` only prints.

usage: .venv/bin/python bench/quality.py --configs baseline mask_loss --iterations 367
       .venv/bin/python bench/quality.py --configs baseline fixed --minutes 5 10
       .venv/bin/python bench/quality.py --table          # print the table and plot of what has run
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# bench/ is sys.path[0] when this runs as a script (and in its --child processes)
from quality_configs import BASE_CONVERT, BASE_TRAIN, CONFIGS, CONVERT_ONLY, FACESWAP_REFERENCE, PAIR_ONLY

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWOFACE_TEST_DATA", REPO.parent / "shared" / "data" / "dev"))
if not DATA.is_dir():  # a git worktree one level deeper than the main checkout
    DATA = REPO.parents[1] / "shared" / "data" / "dev"
HELD_OUT = "1001_DFA_SAD_XX.flv"
GRID = {"G1": ["bbaf2n"], "G2": ["brbk7n"], "G3": ["lbax4n"], "G4": ["lbbc2a"], "G5": ["lrwp9a"],
        "G6": ["lwbsza"], "G7": ["pwij3p", "id2_vcd_swwp2s"], "G8": ["sbia1a"], "G9": ["sbwe5n"],
        "G10": ["swiz3n"]}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ faces
def faces(out: Path, coverage: float | None = None) -> dict:
    """Extract the dev faces once (128 px, every frame, like the demo): A, B (no SAD), 10 GRID folders.

    ``coverage`` (default: extract's) frames them tighter or looser; each coverage has its own folder.
    """
    from twoface.extract import extract

    root = out / ("faces" if coverage is None else f"faces-cov{coverage:g}")
    done = root / ".done"
    shape = {} if coverage is None else {"coverage": coverage}
    folders = {"a": root / "A", "b": root / "B", "gallery": [root / "gallery" / g for g in GRID]}
    if done.exists():
        return folders
    stores = root / "stores"
    extract(DATA / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4", folders["a"],
            store=stores / "A.twoface.db", size=128, progress=False, **shape)
    for clip in sorted((DATA / "train/person_b_cremad_actor1001").glob("*.flv")):
        if clip.name != HELD_OUT:
            extract(clip, folders["b"], store=stores / f"{clip.stem}.twoface.db", size=128, progress=False, **shape)
    for g, clips in GRID.items():
        for c in clips:  # every 3rd frame: 25 faces per clip are plenty for a gallery identity
            extract(DATA / "multi_identity/grid" / f"{c}.mpg", root / "gallery" / g,
                    store=stores / f"{c}.twoface.db", size=128, every=3, progress=False, **shape)
    done.write_text("ok\n")
    return folders


# ------------------------------------------------------------------------------------------------ one run
def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(run_dir: Path, config: str, budget: dict, out: Path) -> None:
    """Train (unless convert-only), convert the held-out clip, evaluate; JSON files in ``run_dir``."""
    from twoface.train import train

    spec = CONFIGS[config]
    f = faces(out, spec.get("coverage"))
    run_dir.mkdir(parents=True, exist_ok=True)
    model = run_dir / "model"
    if config in CONVERT_ONLY:
        model = run_dir.parent / f"{spec.get('model_from', 'baseline')}@{budget_name(budget)}" / "model"
        if not (model / "config.json").exists():
            raise SystemExit(f"{config} needs the baseline model of the same budget first ({model})")
    train_json = run_dir / "train.json"
    if config not in CONVERT_ONLY and not train_json.exists():
        t0, c0 = time.monotonic(), cpu_seconds()
        opts = {**BASE_TRAIN, **spec.get("train", {})}
        if "betas" in spec:  # an optimizer constant, not a train option: set it in this child process only
            from twoface.train import optim

            optim.DEFAULTS[opts["optimizer"]] = {**optim.DEFAULTS[opts["optimizer"]], "betas": spec["betas"]}
            opts["betas"] = list(spec["betas"])
        train_opts = {k: v for k, v in opts.items() if k != "betas"}
        if "prior" in spec:  # pretrained first, its CPU-s in prior.json, not in the pair's
            train_opts["init_from"] = str(prior(out, spec, f))
            t0, c0 = time.monotonic(), cpu_seconds()
        every = budget.get("snapshot_every", 0)
        length = {k: v for k, v in budget.items() if k != "snapshot_every"}
        summary = train(f["a"], f["b"], model, eval_every=10 ** 9, preview_every=10 ** 9,
                        save_every=every or 10 ** 9, snapshot_every=every,
                        quality=False, tensorboard=False, **{"seed": 1, **train_opts}, **length)
        info = {"config": config, "options": opts, "budget": budget, "iteration": summary["iteration"],
                "faces_per_s": summary.get("faces_per_s"), "wall_s": round(time.monotonic() - t0, 1),
                "cpu_s": round(cpu_seconds() - c0, 1)}
        train_json.write_text(json.dumps(info, indent=2) + "\n")
    judge(run_dir, model, spec, f)
    # a constant-rate run's snapshots are the same training stopped earlier: points of the curve for free
    last = json.loads(train_json.read_text()).get("iteration") if train_json.exists() else None
    for snap in sorted((model / "snapshots").glob("*"), key=lambda d: int(d.name)) if (model / "snapshots").is_dir() else []:
        if int(snap.name) != last and not (run_dir / "snapshots" / snap.name / "report.json").exists():
            judge(run_dir / "snapshots" / snap.name, snap, spec, f)


def prior(out: Path, spec: dict, f: dict) -> Path:
    """Pretrain (once) the prior a configuration starts from: the GRID gallery folders pooled."""
    from twoface.train import pretrain

    budget = spec["prior"]
    opts = {k: v for k, v in {**BASE_TRAIN, **spec.get("train", {})}.items()
            if k not in PAIR_ONLY}  # one prior for the pair's variants
    where = out / "priors" / f"grid-{budget_name(budget)}-cov{spec.get('coverage', 'default')}"
    info = where / "prior.json"
    if not info.exists():
        t0, c0 = time.monotonic(), cpu_seconds()
        summary = pretrain(f["gallery"], where, eval_every=10 ** 9, preview_every=10 ** 9, save_every=10 ** 9,
                           tensorboard=False, seed=1, lr_schedule="cosine", **opts, **budget)
        info.write_text(json.dumps({"iteration": summary["iteration"], "wall_s": round(time.monotonic() - t0, 1),
                                    "cpu_s": round(cpu_seconds() - c0, 1), "folders": len(f["gallery"])}) + "\n")
    return where


def judge(run_dir: Path, model: Path, spec: dict, f: dict) -> None:
    """Convert the held-out SAD clip with ``model`` and evaluate it: report.json in ``run_dir``."""
    from twoface.convert import convert
    from twoface.evaluate import evaluate

    run_dir.mkdir(parents=True, exist_ok=True)
    video = run_dir / "swapped_b2a.mp4"
    source = DATA / "train/person_b_cremad_actor1001" / HELD_OUT
    conv = run_dir / "convert.json"
    if not conv.exists():
        c0 = time.monotonic()
        convert(source, model, video, direction="b2a", overwrite=True, progress=False,
                **{**BASE_CONVERT, **spec.get("convert", {})})
        conv.write_text(json.dumps({"wall_s": round(time.monotonic() - c0, 1)}) + "\n")
    evaluate(model, f["a"], f["b"], video=video, source=source, gallery=f["gallery"],
             output=run_dir / "report.json", overwrite=True, progress=False,
             precision=spec.get("convert", {}).get("precision", "auto"))


def budget_name(budget: dict) -> str:
    return f"{budget['iterations']}it" if "iterations" in budget else f"{budget['minutes']:g}min"


def parse_budget(text: str) -> dict:
    """``2000`` or ``2000/330`` (2000 iterations, a snapshot judged every 330) for --iterations."""
    n, _, every = text.partition("/")
    return {"iterations": int(n), **({"snapshot_every": int(every)} if every else {})}


def run_one(out: Path, config: str, budget: dict, reeval: bool) -> None:
    run_dir = out / "runs" / f"{config}@{budget_name(budget)}"
    report = run_dir / "report.json"
    if report.exists() and not reeval:
        return
    report.unlink(missing_ok=True)
    say(f"quality: {config} @ {budget_name(budget)}")
    cmd = [sys.executable, __file__, "--child", config, "--budget", json.dumps(budget), "--out", str(out)]
    with open(out / "runs" / f"{config}@{budget_name(budget)}.log", "a") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        say(f"quality: {config} @ {budget_name(budget)} failed (rc {proc.returncode}); see its .log")


# ------------------------------------------------------------------------------------------------ table
def row(run_dir: Path, config: str | None = None) -> dict | None:
    try:
        rep = json.loads((run_dir / "report.json").read_text())
    except (OSError, ValueError):
        return None
    if config is not None:  # a snapshot of a run: the caller fills in budget and work
        budget = run_dir.name
    else:
        config, budget = run_dir.name.rsplit("@", 1)
    base = CONFIGS.get(config, {}).get("model_from", "baseline")
    tr_dir = run_dir.parent / f"{base}@{budget}" if config in CONVERT_ONLY else run_dir
    try:
        tr = json.loads((tr_dir / "train.json").read_text())
    except (OSError, ValueError):
        tr = {}
    sw, v = rep["swap"], rep.get("video", {})
    get = lambda side, k: (sw.get(side) or {}).get(k)  # noqa: E731
    vid = v.get("identity", {})
    return {
        "config": config, "budget": budget, "iteration": tr.get("iteration"), "cpu_s": tr.get("cpu_s"),
        "train_wall_s": tr.get("wall_s"), "gallery": len(rep["gallery"]), "chance": rep["chance"],
        "ret_a2b": get("a2b", "id_retrieval"), "ret_b2a": get("b2a", "id_retrieval"),
        "ver_a2b": get("a2b", "verification"), "ver_b2a": get("b2a", "verification"),
        "sharp_a2b": get("a2b", "sharpness_ratio"), "sharp_b2a": get("b2a", "sharpness_ratio"),
        # the decoders' own reconstructions (reports from before this column have none)
        "rsharp_a": (rep.get("reconstruction", {}).get("a") or {}).get("sharpness_ratio"),
        "rsharp_b": (rep.get("reconstruction", {}).get("b") or {}).get("sharpness_ratio"),
        "pose": (v.get("pose_error_deg") or {}).get("mean"), "expr": v.get("expression_error"),
        "jitter": (v.get("jitter") or {}).get("ratio"),
        "sim_t": vid.get("similarity_to_target"), "sim_s": vid.get("similarity_to_source"),
        "video_ret": vid.get("id_retrieval"), "expr_floor": v.get("expression_floor"),
        "expr_largest": v.get("expression_largest"),
    }


def fmt(v, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def table(rows: list[dict]) -> str:
    head = ("| config | budget | it | CPU-s | ret A→B | ret B→A | ver A→B | ver B→A | sharp A→B | sharp B→A "
            "| recon sharp A/B | pose° | expr | jitter | video sim tgt/src |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        name = r["config"] + (" (snapshot)" if r.get("snapshot") else "")
        lines.append(f"| {name} | {r['budget']} | {fmt(r['iteration'], 'd')} | {fmt(r['cpu_s'], '.0f')} "
                     f"| {fmt(r['ret_a2b'], '.0%')} | {fmt(r['ret_b2a'], '.0%')} | {fmt(r['ver_a2b'], '.0%')} "
                     f"| {fmt(r['ver_b2a'], '.0%')} | {fmt(r['sharp_a2b'], '.2f')} | {fmt(r['sharp_b2a'], '.2f')} "
                     f"| {fmt(r.get('rsharp_a'), '.2f')} / {fmt(r.get('rsharp_b'), '.2f')} "
                     f"| {fmt(r['pose'], '.2f')} | {fmt(r['expr'], '.2f')} | {fmt(r['jitter'], '.2f')} "
                     f"| {fmt(r['sim_t'], '.3f')} / {fmt(r['sim_s'], '.3f')} |")
    for name, (p, e, j, st, ss) in FACESWAP_REFERENCE.items():
        lines.append(f"| {name} (issue 14's measurement, not run here) | 367it | 367 | n/a | | | | | | | "
                     f"| {p:.2f} | {e:.2f} | {j:.2f} | {st:.3f} / {ss:.3f} |")
    if rows:
        lines.append(f"gallery {rows[0]['gallery']} identities, chance {rows[0]['chance']:.0%}; ret = ID retrieval, "
                     "ver = verification, sharp = sharpness ratio (swap / real target faces), recon sharp = the same "
                     "for the held-out reconstructions A→A / B→B")
        floors = sorted({round(r["expr_floor"], 2) for r in rows if r.get("expr_floor") is not None})
        if floors:
            lines.append("expression floor (each source frame against the nearest of A's own faces; no swap drawn "
                         f"from A's faces alone gets below it): {', '.join(f'{f:.2f}' for f in floors)}")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("pose", "pose error (deg)"), ("expr", "expression error"), ("jitter", "jitter ratio"),
               ("ret_a2b", "ID retrieval A→B"), ("ver_a2b", "verification A→B"), ("sharp_a2b", "sharpness A→B")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    configs = sorted({r["config"] for r in rows if r["cpu_s"] is not None and r["config"] not in CONVERT_ONLY})
    for ax, (key, label) in zip(axes.flat, metrics):
        for c in configs:
            pts = sorted((r["cpu_s"] / 60, r[key]) for r in rows if r["config"] == c and r[key] is not None
                         and r["cpu_s"] is not None)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=c)
        ax.set_xlabel("training CPU-minutes")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("twoface quality against training CPU-minutes (dev pair, held-out SAD clip)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def strip(out: Path, runs: list[str], path: Path, columns: int = 6, zoom: int = 3) -> Path:
    """Source frames of the held-out clip over the same frames of each run's swap, face crops zoomed.

    For looking at, not for publishing (it shows real people swapped): it stays in bench/out.
    """
    import cv2
    import numpy as np

    from twoface.faces.detect import get_detector
    from twoface.media import open_media

    source = DATA / "train/person_b_cremad_actor1001" / HELD_OUT
    src = [f.image for f in open_media(source).frames()]
    picks = np.linspace(5, len(src) - 6, columns).round().astype(int)
    det = get_detector("yunet")
    boxes = []
    for i in picks:
        d = max(det.detect(src[i]), key=lambda d: d.bbox[2] * d.bbox[3])
        x, y, w, h = d.bbox
        c, side = (x + w / 2, y + h / 2), 1.3 * max(w, h)
        boxes.append((int(c[0] - side / 2), int(c[1] - side / 2), int(side)))

    tile = max(b[2] for b in boxes) * zoom // 2

    def row(frames, label):
        tiles = []
        for i, (x, y, side) in zip(picks, boxes):
            f = cv2.copyMakeBorder(frames[i], side, side, side, side, cv2.BORDER_CONSTANT)
            crop = f[y + side:y + 2 * side, x + side:x + 2 * side]
            tiles.append(cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_CUBIC))
        img = np.hstack(tiles)
        cv2.putText(img, label, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
        return img

    rows = [row(src, "source (held-out SAD clip)")]
    for r in runs:
        frames = [f.image for f in open_media(out / "runs" / r / "swapped_b2a.mp4").frames()]
        rows.append(row(frames, f"{r} (synthetic)"))
    cv2.imwrite(str(path), np.vstack(rows))
    return path


def snapshot_rows(run_dir: Path) -> list[dict]:
    """One row per judged snapshot; its CPU-s are the run's pro rata of iterations (steps cost the same)."""
    try:
        tr = json.loads((run_dir / "train.json").read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for d in sorted((run_dir / "snapshots").glob("*")):
        r = row(d, config=run_dir.name.rsplit("@", 1)[0])
        it = int(d.name)
        if r is not None and tr.get("iteration") and it != tr["iteration"]:  # the last is the run's own row
            r.update(budget=f"{it}it", iteration=it, cpu_s=tr["cpu_s"] * it / tr["iteration"], snapshot=True)
            rows.append(r)
    return rows


def collect(out: Path) -> list[dict]:
    order = list(CONFIGS)
    dirs = [d for d in sorted((out / "runs").glob("*@*")) if d.is_dir()]
    rows = [r for d in dirs if (r := row(d))] + [r for d in dirs for r in snapshot_rows(d)]
    return sorted(rows, key=lambda r: (r["budget"].endswith("min"), float(r["budget"].rstrip("itmn")),
                                       order.index(r["config"]) if r["config"] in order else 99))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["baseline"], choices=list(CONFIGS))
    p.add_argument("--iterations", nargs="*", type=parse_budget, default=[],
                   help="iteration budgets; N/K also judges a snapshot every K iterations")
    p.add_argument("--minutes", nargs="*", type=float, default=[])
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "quality")
    p.add_argument("--without-baseline", action="store_true",
                   help="do not run the baseline first (another queue in this session runs it)")
    p.add_argument("--reeval", action="store_true", help="evaluate existing runs again (new metrics)")
    p.add_argument("--table", action="store_true", help="only print the table and plot of finished runs")
    p.add_argument("--strip", nargs="+", metavar="RUN", help="write strip.png: the source over these runs' swaps")
    p.add_argument("--judge-snapshots", metavar="RUN",
                   help="judge the snapshots of a run stopped before its budget (CONFIG@BUDGET); its train.json "
                        "must say how far it got and at what CPU-s")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--budget", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        budget = json.loads(a.budget)
        child(a.out / "runs" / f"{a.child}@{budget_name(budget)}", a.child, budget, a.out)
        return 0
    (a.out / "runs").mkdir(parents=True, exist_ok=True)
    if a.judge_snapshots:
        run_dir = a.out / "runs" / a.judge_snapshots
        spec = CONFIGS[a.judge_snapshots.rsplit("@", 1)[0]]
        f = faces(a.out, spec.get("coverage"))
        for snap in sorted((run_dir / "model" / "snapshots").glob("*"), key=lambda d: int(d.name)):
            if not (run_dir / "snapshots" / snap.name / "report.json").exists():
                say(f"quality: judging {a.judge_snapshots} snapshot {snap.name}")
                judge(run_dir / "snapshots" / snap.name, snap, spec, f)
        return 0
    if a.strip:
        print(f"strip: {strip(a.out, a.strip, a.out / 'strip.png')}")
        return 0
    if not a.table:  # each child extracts the faces it needs, once (two queues started at once may meet on a store lock)
        budgets = list(a.iterations) + [{"minutes": m} for m in a.minutes]
        for b in budgets:
            for c in ([] if a.without_baseline else ["baseline"]) + [c for c in a.configs if c != "baseline"]:
                run_one(a.out, c, b, a.reeval)
    rows = collect(a.out)
    text = table(rows)
    print(text)
    (a.out / "quality.json").write_text(json.dumps(rows, indent=2) + "\n")
    (a.out / "quality.md").write_text(text + "\n")
    if rows:
        plot(rows, a.out / "quality.png")
        print(f"plot: {a.out / 'quality.png'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    raise SystemExit(main())
