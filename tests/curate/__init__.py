"""Tests of twoface.curate (sort, prune)."""
