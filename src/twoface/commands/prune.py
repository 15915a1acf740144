"""Drop alignments-store entries whose face PNGs were deleted, so convert swaps only the kept faces.

Faces are matched by the source fingerprint, frame and face index stored in
each PNG, so sorted, renamed or moved faces still count (folders are searched
recursively). A face folder with no face from the store's source is refused.
Run with --dry-run first to see what would go.

examples:
  twoface prune --store clip.mp4.twoface.db --faces faces/clip --dry-run
  twoface prune --store clip.mp4.twoface.db --faces faces/clip faces/clip-extra
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, help="the alignments store to prune (.twoface.db)")
    p.add_argument("--faces", required=True, nargs="+", metavar="FACES",
                   help="one or more folders holding the face PNGs to keep")
    p.add_argument("--dry-run", action="store_true", help="report what would be removed, change nothing")


def run(args: argparse.Namespace) -> int:
    from ..curate import prune

    r = prune(args.store, args.faces, dry_run=args.dry_run, progress=sys.stderr.isatty())
    verb = "would remove" if r.dry_run else "removed"
    print(f"{r.store}: kept {r.kept} faces, {verb} {r.removed}")
    if r.empty_frames:
        print(f"  frames that {'would ' if r.dry_run else ''}now have no face ({len(r.empty_frames)}): {r.empty_ranges}")
    if r.untracked:
        print(f"  {r.untracked} face PNGs of this source have no entry in the store", file=sys.stderr)
    if r.other_sources:
        print(f"  {r.other_sources} face PNGs from other sources were ignored")
    from ..curate.items import name_some

    if r.not_faces:
        print(f"  {r.not_faces} PNGs without twoface metadata were ignored: {name_some(r.not_face_files)}")
    if r.damaged:
        print(f"  {len(r.damaged)} damaged PNGs were skipped: {name_some(r.damaged)}", file=sys.stderr)
    if r.dry_run:
        print("dry run: the store was not changed")
    return 0
