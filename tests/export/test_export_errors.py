"""Bad inputs to export and to the ONNX engine are refused in one line, exit 2, before any work."""
from __future__ import annotations

from pathlib import Path

import pytest

from export.export_helpers import model_folder

onnx = pytest.importorskip("onnx", reason="the export extra is part of CI's install (scripts/setup.sh)")
pytest.importorskip("onnxruntime", reason="the export extra is part of CI's install (scripts/setup.sh)")

TINY = {"input_size": 64, "output_size": 64, "encoder_width": 16, "max_width": 64, "latent": 32, "decoder_width": 32}
CLIP = "convert/two_faces_side_by_side.mp4"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, faces_a) -> Path:
    from twoface.export import export

    root = tmp_path_factory.mktemp("bad")
    folder = model_folder(root, "custom", TINY)
    return export(folder, root / "ok.onnx", check_faces=faces_a, check_count=2).output


def _cli(capsys, *argv) -> tuple[int, str]:
    from twoface.cli import main

    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    return code, err


def _convert(capsys, data_dir, tmp_path, model) -> tuple[int, str]:
    return _cli(capsys, "convert", data_dir / CLIP, "-m", model, "-o", tmp_path / "out.mp4", "--engine", "onnx",
                "--no-progress")


def test_foreign_truncated_and_mislabelled_onnx_files_are_refused(capsys, tmp_path, data_dir, exported):
    from onnx import TensorProto, helper

    # a valid ONNX model that twoface did not make
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 64, 64])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(foreign))
    # a twoface export cut short
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    # a twoface export whose graph is of another size than its metadata says
    proto = onnx.load(str(exported))
    for p in proto.metadata_props:
        if p.key in ("twoface.input_size", "twoface.output_size"):
            p.value = "128"
    resized = tmp_path / "resized.onnx"
    onnx.save(proto, str(resized))
    cases = {foreign: "not one made by `twoface export`", truncated: "not a readable ONNX model",
             resized: "its graph takes input", tmp_path / "missing.onnx": "no such file"}
    for path, words in cases.items():
        code, err = _convert(capsys, data_dir, tmp_path, path)
        assert code == 2 and len(err.splitlines()) == 1, (path, err)
        assert str(path) in err and words in err, err
        assert not (tmp_path / "out.mp4").exists()


def test_the_wrong_direction_and_a_model_folder_are_refused(capsys, tmp_path, data_dir, exported):
    code, err = _cli(capsys, "convert", data_dir / CLIP, "-m", exported, "-o", tmp_path / "out.mp4",
                     "--engine", "onnx", "--direction", "b2a", "--no-progress")
    assert code == 2 and "exported for --direction a2b" in err and len(err.splitlines()) == 1
    code, err = _convert(capsys, data_dir, tmp_path, exported.parent / "custom-nomask")
    assert code == 2 and "--engine onnx takes an .onnx file" in err


def test_export_refuses_bad_outputs_and_options(capsys, tmp_path, exported):
    folder = exported.parent / "custom-nomask"
    cases = [
        (["-o", exported], "already exists; pass --overwrite"),
        (["-o", tmp_path / "x.onnx", "--format", "dfm"], "a dfm export is named *.dfm"),
        (["-o", tmp_path / "x.dfm", "--dfm-coverage", "9"], "--dfm-coverage must be"),
        (["-o", tmp_path / "x.onnx", "--check-faces", tmp_path / "nowhere"], "no such face folder"),
    ]
    for extra, words in cases:
        code, err = _cli(capsys, "export", folder, *extra)
        assert code == 2 and words in err and len(err.splitlines()) == 1, err
    code, err = _cli(capsys, "export", tmp_path / "nomodel", "-o", tmp_path / "x.onnx")
    assert code == 2 and "no such model folder" in err
