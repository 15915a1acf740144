"""Sort a face folder so the faces to delete sit together: by person, blur, pose, size, colour.

Files are only moved or renamed, never deleted or rewritten (their metadata
travels with them). A journal (FACES/.twoface-sort-journal.json) is written
before the first move; --undo restores the previous layout, one sort at a time.

  identity     one folder per person: FACES/by_identity/000 (largest) ... (--rename: c000_ prefix)
  blur         blurriest first (sharpness measured from the pixels inside the face)
  yaw, pitch, roll   head pose in degrees, lowest first
  size         smallest face in the source frame first
  color        darkest first (mean CIELAB lightness of the face)
  similarity   least like --reference (or the folder's average face) first: strangers surface

Ranked keys rename files with a sortable prefix (0000_name.png), or with --bins N
move them into N equal-count folders FACES/by_<key>/00 ... (00 holds the first faces of the order).
Sorting a sorted folder replaces the previous layout (names are rebuilt from the
originals); the journal keeps both, so --undo twice returns to the start.

examples:
  twoface sort faces/clip --by identity
  twoface sort faces/clip --by blur --bins 5
  twoface sort faces/clip --by similarity --reference alice.jpg --dry-run
  twoface sort faces/clip --undo
"""
from __future__ import annotations

import argparse
import sys

from ..options import add_options, values_from

MAX_PLAN_LINES = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..curate import SortOptions

    p.add_argument("faces", metavar="FACES", help="folder of face PNGs written by `twoface extract` (searched recursively)")
    add_options(p, SortOptions)


def run(args: argparse.Namespace) -> int:
    from ..curate import SortOptions, sort_faces

    result = sort_faces(args.faces, progress=sys.stderr.isatty(), **values_from(SortOptions, args))
    if result.undo is not None:
        _print_undo(result)
    else:
        _print_sort(result)
    return 0


def _print_undo(result) -> None:
    u = result.undo
    verb = "would restore" if result.dry_run else "restored"
    print(f"undo of sort by {u.by}: {verb} {u.restored} files in {result.folder}")
    if u.unmoved:
        print(f"  {u.unmoved} files had not moved (the sort was interrupted)")
    if u.missing:
        print(f"  {len(u.missing)} files were deleted since the sort (not restored): "
              f"{', '.join(u.missing[:5])}{' ...' if len(u.missing) > 5 else ''}")
    if u.conflicts:
        print(f"  {len(u.conflicts)} files left where they are because their original name is taken: "
              f"{', '.join(u.conflicts[:5])}{' ...' if len(u.conflicts) > 5 else ''}", file=sys.stderr)
    if u.removed_dirs:
        print(f"  removed {len(u.removed_dirs)} emptied sort folders")
    if u.remaining:
        print(f"  {u.remaining} earlier sort(s) can still be undone")


def _print_sort(result) -> None:
    n = sum(g.count for g in result.groups)
    print(f"sort by {result.by}: {n} faces, {result.order}")
    if result.by == "identity":
        print(f"  {len([g for g in result.groups if g.name != 'noise'])} clusters: "
              + ", ".join(f"{g.name}: {g.count}" for g in result.groups))
    else:
        for g in result.groups:
            print(f"  {g.name}: {g.count} faces, {g.low:.4g} .. {g.high:.4g}")
    from ..curate.items import name_some

    if result.others:
        print(f"  {len(result.others)} PNGs without twoface metadata were left alone: "
              f"{name_some(result.others, result.folder)}", file=sys.stderr)
    if result.damaged:
        print(f"  {len(result.damaged)} damaged PNGs were skipped and left alone: "
              f"{name_some([p for p, _ in result.damaged], result.folder)}", file=sys.stderr)
    if result.dry_run:
        print(f"dry run: would move {len(result.moves)} files ({result.unchanged} already in place):")
        for src, dst in result.moves[:MAX_PLAN_LINES]:
            print(f"  {src} -> {dst}")
        if len(result.moves) > MAX_PLAN_LINES:
            print(f"  ... and {len(result.moves) - MAX_PLAN_LINES} more")
    elif result.moves:
        print(f"moved {len(result.moves)} files ({result.unchanged} already in place); "
              f"undo with: twoface sort {result.folder} --undo")
    else:
        print("nothing to move: the folder is already in this order")
