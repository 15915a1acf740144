"""Say what a file or folder is: a face PNG, a face folder, an alignments store, a model folder,
a converted (synthetic) video or image, or a plain one.

For videos and images it reports the synthetic label that `twoface convert`
writes into its outputs and whether the invisible watermark is present.

examples:
  twoface inspect faces/clip/clip_000012_0.png
  twoface inspect clip.mp4.twoface.db
  twoface inspect models/alice-bob
  twoface inspect swapped.mp4 --json
"""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="PATH", help="the file or folder to inspect")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from ..inspect import inspect_path

    info = inspect_path(args.path)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        render(info)
    return 0


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for k, v in d.items():
        if not prefix and k == "kind":
            continue
        name = f"{prefix}{k}".replace("_", " ")
        if isinstance(v, dict) and v and len(v) <= 12 and k not in ("options", "sources"):
            rows.extend(_flatten(v, f"{prefix}{k}."))
        else:
            rows.append((name, v))
    return rows


def _text(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        text = json.dumps(v, default=str)
        return text if len(text) <= 200 else text[:197] + "..."
    return str(v)


def render(info: dict) -> None:
    """A readable two-column summary (rich), title = what the thing is."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=info["kind"], show_header=False, title_justify="left", title_style="bold")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in _flatten(info):
        table.add_row(name, _text(value))
    Console().print(table)
    if info["kind"] in ("video", "image", "image folder", "image sequence") and not info.get("synthetic"):
        Console().print("no synthetic label, no watermark: not an output of twoface convert")
