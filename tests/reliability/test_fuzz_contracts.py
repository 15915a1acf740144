"""Fuzzing every data contract: only a TwofaceError (one line, naming the file) may come out.

Structured generators start from a real valid file of each contract and mutate it: one field
at a time (wrong types, NaN and infinities, huge integers, deep nesting, deletion), or the
bytes (flips, truncations, insertions). Each contract gets ``TWOFACE_FUZZ_CASES`` cases
(1,000 by default; set it higher for a nightly run) against its parser, called directly; a
smaller sample goes through the CLI, which must exit 0 or 2 and leave the file unchanged.
"""
from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliab_helpers import fuzz_cases, meta_json, record_cases, run_cli, tree_hashes, with_meta_text

from twoface.contracts.image import decode_image
from twoface.contracts.jsonsafe import load_json
from twoface.contracts.model_files import check_safetensors, parse_config, parse_state
from twoface.contracts.store_rows import check_schema, face_row, last_frame
from twoface.errors import TwofaceError
from twoface.store.metadata import FaceMeta, _parse_meta
from twoface.train import checkpoint as ck

FUZZ = settings(max_examples=fuzz_cases(), deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck))
WHERE = Path("/fuzz/case")

# ---- generators -------------------------------------------------------------------------------
scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.integers(-10, 10),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
hostile = st.recursive(scalar, lambda kids: st.one_of(st.lists(kids, max_size=6),
                                                      st.dictionaries(st.text(max_size=6), kids, max_size=4)),
                       max_leaves=12)


def paths(obj, prefix=(), rows=3) -> list[tuple]:
    """Paths to every container and leaf (only the first ``rows`` items of long lists)."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k), rows)
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:rows]):
            out += paths(v, (*prefix, i), rows)
    return out


def mutate(valid: dict, path: tuple, how: str, value) -> object:
    """A copy of ``valid`` with the node at ``path`` replaced, deleted or buried in nesting.

    Only the containers along ``path`` are copied (a deep copy of 478 landmarks per case would
    cost more than the parse under test).
    """
    if not path:
        return value
    doc = copy.copy(valid)
    parent, node = doc, valid
    for key in path[:-1]:
        node = node[key]
        child = copy.copy(node)
        parent[key] = child
        parent = child
    if how == "delete":
        del parent[path[-1]]
    elif how == "nest":
        wrapped = parent[path[-1]]
        for _ in range(40):  # deeper than any contract allows
            wrapped = [wrapped]
        parent[path[-1]] = wrapped
    else:
        parent[path[-1]] = value
    return doc


def text_ops(data: bytes, op: str, at: float, blob: bytes) -> bytes:
    i = int(at * len(data))
    if op == "truncate":
        return data[:i]
    if op == "flip":
        return data[:i] + bytes([data[i] ^ (1 << (len(blob) % 8))]) + data[i + 1:] if i < len(data) else data
    if op == "insert":
        return data[:i] + blob + data[i:]
    if op == "deep":
        n = 200 + 40 * len(blob)
        return data[:i] + b"[" * n + b"]" * n + data[i:]
    return data


def field_mutation(valid: dict):
    return st.tuples(st.sampled_from(paths(valid)), st.sampled_from(["set", "set", "delete", "nest"]), hostile)


raw_mutation = st.tuples(st.sampled_from(["truncate", "flip", "insert", "deep", "none"]),
                         st.floats(0, 1, allow_nan=False), st.binary(max_size=16))


def expect_clean(fn, *args) -> bool:
    """Run a parser: success or a one-line TwofaceError; anything else fails the test."""
    try:
        fn(*args)
        return True
    except TwofaceError as err:
        text = str(err)
        assert "\n" not in text and text, repr(text)
        return False


def dumps(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


# ---- face PNG metadata ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid_meta(face_png_module) -> dict:
    return meta_json(face_png_module)


@pytest.fixture(scope="module")
def face_png_module(small_faces) -> bytes:
    return sorted(small_faces["a"].glob("*.png"))[0].read_bytes()


def test_fuzz_face_metadata_fields(valid_meta):
    assert expect_clean(lambda d: FaceMeta.from_json(load_json(d, WHERE, "meta"), WHERE), dumps(valid_meta))

    @FUZZ
    @given(field_mutation(valid_meta), raw_mutation)
    def case(fm, raw):
        record_cases("face PNG metadata (JSON)")
        data = text_ops(dumps(mutate(valid_meta, *fm)), *raw)
        expect_clean(lambda d: FaceMeta.from_json(load_json(d, WHERE, "meta"), WHERE), data)

    case()


def test_fuzz_face_png_bytes(face_png_module, valid_meta):
    def parse(data):
        _parse_meta(data, WHERE)
        decode_image(data, WHERE)

    assert expect_clean(parse, face_png_module)

    @FUZZ
    @given(raw_mutation, st.booleans(), field_mutation(valid_meta))
    def case(raw, remeta, fm):
        record_cases("face PNG (bytes)")
        data = face_png_module
        if remeta:  # a well-formed PNG whose chunk carries a mutated (possibly uncompressed) document
            data = with_meta_text(data, dumps(mutate(valid_meta, *fm)), compressed=raw[0] != "none")
        expect_clean(parse, text_ops(data, *raw))

    case()


# ---- store rows -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid_rows(small_faces) -> list[tuple]:
    from twoface.store.alignments import AlignmentsStore

    db = sqlite3.connect(small_faces["a_store"])
    rows = db.execute(f"SELECT {AlignmentsStore._COLS} FROM face LIMIT 3").fetchall()
    db.close()
    return rows


blob_or_value = st.one_of(hostile, st.binary(max_size=40), st.binary(min_size=900, max_size=4000),
                          st.sampled_from([b"\x00\x00\xc0\x7f" * 956, b"\x00\x00\x80\x7f" * 128]))


def test_fuzz_store_rows(valid_rows):
    for r in valid_rows:
        assert expect_clean(face_row, r, WHERE)

    @FUZZ
    @given(st.sampled_from(range(len(valid_rows))), st.lists(st.tuples(st.integers(0, 16), blob_or_value),
                                                              min_size=1, max_size=3),
           st.one_of(hostile, st.integers(-3, 3)), st.integers(-3, 4), st.sets(st.sampled_from(
               ["meta", "source", "face", "progress", "frame", "other"])))
    def case(which, changes, progress, version, tables):
        record_cases("store rows")
        row = list(valid_rows[which])
        for col, value in changes:
            row[col] = value
        if isinstance(row[15], (dict, list)):
            row[15] = json.dumps(row[15], allow_nan=True)
        expect_clean(face_row, tuple(row), WHERE)
        expect_clean(last_frame, progress, WHERE)
        expect_clean(check_schema, version, tables, WHERE)

    case()


# ---- config.json and state.json ---------------------------------------------------------------
@pytest.fixture(scope="module")
def model_docs(tiny_model) -> dict:
    return {name: json.loads((tiny_model / name).read_text()) for name in ("config.json", "state.json")}


@pytest.mark.parametrize("name,parse", [("config.json", parse_config), ("state.json", parse_state)],
                         ids=["config", "state"])
def test_fuzz_model_json(model_docs, name, parse):
    valid = model_docs[name]
    allow_nan = name == "state.json"

    def run(data):
        parse(load_json(data, WHERE, name, allow_nan=allow_nan), WHERE)

    assert expect_clean(run, dumps(valid))

    @FUZZ
    @given(field_mutation(valid), raw_mutation)
    def case(fm, raw):
        record_cases(f"model {name}")
        expect_clean(run, text_ops(dumps(mutate(valid, *fm)), *raw))

    case()


# ---- safetensors ------------------------------------------------------------------------------
def test_fuzz_safetensors(tiny_model, tmp_path):
    import struct

    original = (tiny_model / "weights.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", original[:8])
    header = json.loads(original[8:8 + n])
    body = original[8 + n:]
    target = tmp_path / "weights.safetensors"

    def run(data: bytes):
        target.write_bytes(data)
        check_safetensors(target)
        ck.Checkpoint(tmp_path, {}, tmp_path / "state.json", {ck.WEIGHTS: target}).tensors(ck.WEIGHTS)

    assert expect_clean(run, original)

    @FUZZ
    @given(field_mutation(header), raw_mutation, st.booleans())
    def case(fm, raw, keep_length):
        record_cases("safetensors header")
        text = dumps(mutate(header, *fm))
        length = n if keep_length else len(text)
        data = struct.pack("<Q", length) + text + body
        if raw[0] != "deep":
            data = text_ops(data, *raw)
        expect_clean(run, data)

    case()


# ---- the CLI, on a smaller sample -------------------------------------------------------------
def test_fuzz_cli_sample(face_png_module, valid_meta, model_copy, tmp_path, capfd):
    face = tmp_path / "face.png"
    config = model_copy / "config.json"
    valid_config = json.loads(config.read_text())

    @settings(max_examples=max(20, fuzz_cases() // 25), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(field_mutation(valid_meta), raw_mutation, field_mutation(valid_config))
    def case(fm, raw, cm):
        record_cases("CLI (inspect)")
        face.write_bytes(text_ops(with_meta_text(face_png_module, dumps(mutate(valid_meta, *fm))), *raw))
        config.write_bytes(dumps(mutate(valid_config, *cm)))
        before = tree_hashes(face, model_copy)
        for target in (face, model_copy):
            code, _out, err = run_cli(capfd, "inspect", target)
            assert code in (0, 2), err
            assert "Traceback" not in err and "libpng" not in err, err
            if code == 2:
                assert len(err.strip().splitlines()) == 1, err
        assert tree_hashes(face, model_copy) == before

    case()
