"""C2PA Content Credentials written by the real writers, checked with c2pa-python's own Reader."""
from __future__ import annotations

import json
import os
import stat

import pytest

from twoface.media import open_media, open_writer
from twoface.media.provenance import TRAINED, read_credentials

c2pa = pytest.importorskip("c2pa", reason="the 'provenance' extra (c2pa-python) is part of the test install")

MODEL = {"architecture": "lightweight", "iteration": 1234}


@pytest.fixture(scope="module")
def grid_frames(data_dir):
    src = open_media(data_dir / "multi_identity/grid/bbaf2n.mpg")
    return [f.image for _, f in zip(range(10), src.frames())], src.info


def _write(path, frames, info, kind=None):
    with open_writer(path, kind, fps=info.rate, size=(info.width, info.height), watermark=True, model=MODEL) as w:
        for i, f in enumerate(frames):
            w.write(f, i)


def _reader_state(path, mime):
    with open(path, "rb") as fh, c2pa.Reader(mime, fh) as r:
        return r.get_validation_state(), json.loads(r.json())


@pytest.mark.parametrize("name,mime", [("out.mp4", "video/mp4"), ("out.mov", "video/quicktime"),
                                       ("one.png", "image/png"), ("one.jpg", "image/jpeg"),
                                       ("out.gif", "image/gif")])
def test_every_output_format_carries_a_valid_manifest(tmp_path, grid_frames, name, mime):
    frames, info = grid_frames
    out = tmp_path / name
    _write(out, frames[:1] if out.suffix in (".png", ".jpg") else frames[:6], info)
    state, store = _reader_state(out, mime)
    assert state == "Valid"  # signature and hashes verify; the local signer is not on a trust list
    active = store["manifests"][store["active_manifest"]]
    actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == TRAINED
    assert actions[0]["parameters"]["model"] == MODEL
    assert any(a["label"] == "c2pa.soft-binding" for a in active["assertions"])
    assert active["claim_generator_info"][0]["name"] == "twoface"
    seen = read_credentials(out)
    assert seen["state"] == "valid" and seen["trusted"] is False and seen["model"] == MODEL


@pytest.mark.parametrize("name,mime", [("out.mp4", "video/mp4"), ("frame.png", "image/png")])
def test_tampering_with_the_bytes_is_detected(tmp_path, grid_frames, name, mime):
    frames, info = grid_frames
    out = tmp_path / name
    _write(out, frames[:1] if out.suffix == ".png" else frames, info)
    data = bytearray(out.read_bytes())
    # flip one byte of the picture data: past the middle for MP4 (mdat), inside the IDAT chunk for PNG
    at = data.find(b"IDAT") + 40 if out.suffix == ".png" else data.find(b"mdat") + 2000
    data[at] ^= 0x01
    bad = tmp_path / f"bad{out.suffix}"
    bad.write_bytes(bytes(data))
    with open(bad, "rb") as fh, c2pa.Reader(mime, fh) as r:
        assert r.get_validation_state() == "Invalid"
    seen = read_credentials(bad)
    assert seen["state"] == "invalid" and any("mismatch" in e for e in seen["errors"])


def test_local_signing_key_is_made_once_in_the_config_folder(tmp_path, monkeypatch, grid_frames):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    frames, info = grid_frames
    _write(tmp_path / "a.png", frames[:1], info)
    key, cert = tmp_path / "cfg/twoface/c2pa/key.pem", tmp_path / "cfg/twoface/c2pa/cert.pem"
    assert key.exists() and cert.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = cert.read_bytes()
    _write(tmp_path / "b.png", frames[:1], info)
    assert cert.read_bytes() == first  # reused, not regenerated
    assert first.count(b"BEGIN CERTIFICATE") == 2  # leaf + local CA


def test_a_user_certificate_is_used_when_configured(tmp_path, monkeypatch, grid_frames):
    from twoface.media import provenance

    provenance._make_local_pair(tmp_path / "mine")  # stands in for a certificate the user bought
    monkeypatch.setenv("TWOFACE_C2PA_CERT", str(tmp_path / "mine/cert.pem"))
    monkeypatch.setenv("TWOFACE_C2PA_KEY", str(tmp_path / "mine/key.pem"))
    frames, info = grid_frames
    _write(tmp_path / "c.jpg", frames[:1], info)
    from cryptography import x509

    serial = x509.load_pem_x509_certificates((tmp_path / "mine/cert.pem").read_bytes())[0].serial_number
    _, store = _reader_state(tmp_path / "c.jpg", "image/jpeg")
    assert store["manifests"][store["active_manifest"]]["signature_info"]["cert_serial_number"] == str(serial)


def test_without_c2pa_outputs_are_still_written_with_one_warning(tmp_path, monkeypatch, grid_frames, caplog):
    import sys

    from twoface.media import provenance

    monkeypatch.setitem(sys.modules, "c2pa", None)  # a real ImportError for `import c2pa`
    monkeypatch.setattr(provenance, "_warned", False)
    frames, info = grid_frames
    with caplog.at_level("WARNING"):
        _write(tmp_path / "d.mp4", frames, info)
        _write(tmp_path / "e.png", frames[:1], info)
    warnings = [r.message for r in caplog.records if "Content Credentials" in r.message]
    assert len(warnings) == 1 and "twoface[provenance]" in warnings[0]
    assert (tmp_path / "d.mp4").stat().st_size > 0 and (tmp_path / "e.png").stat().st_size > 0
    monkeypatch.undo()
    assert read_credentials(tmp_path / "d.mp4")["state"] == "absent"


def test_plain_dev_files_have_no_credentials(data_dir):
    assert read_credentials(data_dir / "convert/no_face_coffee.png")["state"] == "absent"
    assert read_credentials(data_dir / "convert/two_people_obama_biden.jpg")["state"] == "absent"
    assert read_credentials(data_dir / "train/person_a_pexels_woman/WolfgangLanger_Pexels.mp4")["state"] == "absent"
