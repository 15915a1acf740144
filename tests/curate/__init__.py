"""Tests of twoface.curate (sort, prune); a package so its conftest can import the root one."""
