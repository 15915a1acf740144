"""Curating face sets: sort a folder so bad faces sit together, prune the store to match.

The workflow (as faceswap and DFL users know it): ``sort_faces`` groups or ranks
the faces, the user deletes the wrong people and bad crops, ``prune`` drops
their rows from the alignments store, and ``sort_faces(..., undo=True)`` puts
the kept files back under their original names.
"""
from __future__ import annotations

from ..store.journal import UndoReport
from .cluster import DEFAULT_THRESHOLD, cluster_identities
from .keys import KEYS
from .prune import PruneReport, compact_ranges, prune
from .sort import SORT_BY, Group, SortOptions, SortResult, sort_faces, undo_sort

__all__ = ["sort_faces", "undo_sort", "prune", "SortOptions", "SortResult", "Group", "UndoReport", "PruneReport",
           "SORT_BY", "KEYS", "DEFAULT_THRESHOLD", "cluster_identities", "compact_ranges"]
