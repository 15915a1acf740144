"""The UI's routes through FastAPI's test client, on a workspace with real extracted faces."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import fields

import pytest
from fastapi.testclient import TestClient

from twoface.errors import TwofaceError
from twoface.ui.app import create_app
from twoface.ui.jobs import JobStore

from .conftest import csrf_headers, make_workspace


def wait_job(client, job_id: int, timeout: float = 60.0) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled", "interrupted"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s:\n{job.get('log')}")


@pytest.fixture
def app(face_workspace):
    return create_app(face_workspace, start_jobs=False)


@pytest.fixture
def client(app):
    return TestClient(app)


def test_every_page_renders(client, face_workspace):
    expect = {"/": "Recent jobs", "/sources": 'name="every"', "/faces": 'class="face"', "/train": 'name="batch_size"',
              "/convert": 'name="color"', "/evaluate": 'name="max_faces"', "/jobs": "<table",
              "/train/view?model=models/none": 'id="loss-chart"', "/fragments/jobs": "no jobs yet",
              "/fragments/reports": "no reports yet", "/fragments/grid?set=faces/g&sort=blur": "faces in faces/g"}
    for url, needle in expect.items():
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        assert needle in r.text, url
    for asset in ("/static/vendor/htmx.min.js", "/static/vendor/uPlot.iife.min.js", "/static/vendor/uPlot.min.css",
                  "/static/app.js", "/static/app.css"):
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000, asset
    assert "http" not in client.get("/").text.split("<body")[0].replace("http-equiv", "")  # no CDN in <head>


def test_forms_come_from_the_option_dataclasses(client):
    from twoface.extract import ExtractOptions
    from twoface.train.options import TrainOptions
    from twoface.ui.forms import extract_fields, parse_form, train_fields

    page = client.get("/train").text
    for f in fields(TrainOptions):
        if f.name not in ("faces_a", "faces_b", "model_dir", "distributed", "timelapse", "init_from", "init_parts"):
            assert f'name="{f.name}"' in page, f.name
    ef = extract_fields()
    assert {f.name: f.default for f in ef}["every"] == ExtractOptions().every
    defaults = {f.name: f.default_text for f in ef} | {f"{f.name}__present": "1" for f in ef if f.kind == "bool"}
    assert parse_form(ef, defaults) == {}  # posting the defaults asks for nothing special
    assert parse_form(ef, defaults | {"every": "3", "rotate": "90,270", "max_faces": ""}) == \
        {"every": 3, "rotate": [90, 270]}
    tf = train_fields()
    form = {f.name: f.default_text for f in tf if f.kind != "bool"} | {"quality__present": "1", "warp__present": "1",
                                                                        "warp": "on", "options": "input_size=64"}
    assert parse_form(tf, form) == {"quality": False, "options": {"input_size": 64}}
    # a preset fills what was not chosen; a default the user touched (the page's script lists it in
    # __given) was chosen, as a typed CLI flag is, and stays
    preset = form | {"preset": "cpu"}
    assert parse_form(tf, preset) == {"quality": False, "options": {"input_size": 64}, "preset": "cpu"}
    chosen = parse_form(tf, preset | {"__given": "batch_size,warp"})
    assert chosen == {"quality": False, "options": {"input_size": 64}, "preset": "cpu", "batch_size": 16,
                      "warp": True}
    from twoface.train.options import TrainOptions as T

    common = {"faces_a": "a", "faces_b": "b", "model_dir": "m"}
    assert T(**common, **parse_form(tf, preset)).batch_size == 8  # the preset's
    assert T(**common, **chosen, explicit=frozenset(chosen)).batch_size == 16
    with pytest.raises(TwofaceError, match="--batch-size"):
        parse_form(tf, {"batch_size": "many"})


def test_paths_stay_inside_the_workspace(client, app, face_workspace, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("TOPSECRET-CONTENT")
    link = face_workspace / "outputs" / "link.txt"
    if not link.exists():
        os.symlink(outside, link)
    bad = ["../secret.txt", "/etc/passwd", "outputs/link.txt", "faces/../../x", ".twoface-ui/jobs.db", "~/x",
           "outputs/..\\..\\x"]
    for path in bad:
        r = client.get("/media", params={"path": path})
        assert r.status_code == 403, (path, r.status_code)
        assert "TOPSECRET" not in r.text
        assert client.get("/thumb", params={"path": path}).status_code == 403, path
    h = csrf_headers(app)
    assert client.post("/extract", data={"input": "../secret.txt", "output": "x"}, headers=h).status_code == 403
    assert client.post("/extract", data={"input": "sources/bbaf2n.mpg", "output": "../x"}, headers=h).status_code == 400
    assert client.post("/faces/delete", data={"set": "sources", "face": "bbaf2n.mpg"}, headers=h).status_code == 403
    r = client.post("/faces/delete", data={"set": "faces/g", "face": "../../sources/bbaf2n.mpg"}, headers=h)
    assert r.status_code == 400 and (face_workspace / "sources" / "bbaf2n.mpg").exists()
    assert client.get("/preview-file/../../jobs.db").status_code in (403, 404)
    assert client.get("/report", params={"path": "outputs/link.txt"}).status_code == 403
    assert client.get("/media", params={"path": "sources/bbaf2n.mpg"}).status_code == 200


def test_non_loopback_needs_a_token(face_workspace):
    with pytest.raises(TwofaceError, match="token"):
        create_app(face_workspace, host="0.0.0.0", token=None, start_jobs=False)
    app = create_app(face_workspace, host="0.0.0.0", token="s3cret-token", start_jobs=False)
    c = TestClient(app, follow_redirects=False)
    assert c.get("/").status_code == 401
    assert c.get("/media", params={"path": "sources/bbaf2n.mpg"}).status_code == 401
    assert c.get("/?token=wrong").status_code == 401
    r = c.get("/faces?token=s3cret-token")
    assert r.status_code == 303 and "token" not in r.headers["location"]
    assert c.get("/faces").status_code == 200  # the cookie carries it now
    fresh = TestClient(app)
    assert fresh.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert fresh.post("/jobs/1/cancel", headers={"Authorization": "Bearer s3cret-token",
                                                 "Origin": "http://evil.example"}).status_code == 403


def test_writes_need_the_token_or_the_same_origin(client):
    assert client.post("/faces/undo", data={"set": "faces/g"}).status_code == 403
    assert client.post("/faces/undo", data={"set": "faces/g"}, headers={"Origin": "http://evil.example"}).status_code == 403
    r = client.post("/faces/undo", data={"set": "faces/g"}, headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and "nothing to undo" in r.text
    r = client.post("/faces/undo", data={"set": "faces/g", "page": "x"}, headers={"Origin": "http://testserver"})
    assert r.status_code == 400 and "page must be a whole number" in r.text


def test_upload_has_a_size_limit(face_workspace):
    app = create_app(face_workspace, start_jobs=False, max_upload_mb=1)
    c = TestClient(app)
    h = {"X-Twoface-Token": app.state.ui.csrf}
    big = io.BytesIO(b"\0" * (2 * 1024 * 1024))
    r = c.post("/upload", files={"file": ("big.mp4", big, "video/mp4")}, headers=h)
    assert r.status_code == 413 and not (face_workspace / "sources" / "big.mp4").exists()
    clip = (face_workspace / "sources" / "lbbc2a.mpg").read_bytes()
    r = c.post("/upload", files={"file": ("../../up.mpg", io.BytesIO(clip), "video/mpeg")}, headers=h)
    assert r.status_code == 200, r.text
    assert (face_workspace / "sources" / "up.mpg").read_bytes() == clip
    assert c.post("/upload", files={"file": ("up.mpg", io.BytesIO(clip))}, headers=h).status_code == 400  # exists
    assert c.post("/upload", files={"file": (".hidden.mp4", io.BytesIO(b"x"))}, headers=h).status_code == 400
    assert c.post("/upload", files={"file": ("notes.txt", io.BytesIO(b"x"))}, headers=h).status_code == 400
    (face_workspace / "sources" / "up.mpg").unlink()


def test_face_grid_delete_undo_and_prune(face_workspace):
    from twoface.store.alignments import AlignmentsStore, default_store_path

    app = create_app(face_workspace)
    h = csrf_headers(app)
    folder = face_workspace / "faces" / "g"
    store = default_store_path(face_workspace / "sources" / "bbaf2n.mpg")
    with TestClient(app) as c:
        page = c.get("/fragments/grid", params={"set": "faces/g", "sort": "identity"}).text
        total = page.count('class="face"')
        assert total == len(list(folder.glob("*.png"))) >= 10
        first = sorted(p.name for p in folder.glob("*.png"))[:2]
        thumb = c.get("/thumb", params={"path": f"faces/g/{first[0]}"})
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
        from twoface.ui import routes_faces

        routes_faces.PAGE, page_size = 5, routes_faces.PAGE
        try:
            paged = c.get("/fragments/grid", params={"set": "faces/g", "page": 1}).text
            assert paged.count('class="face"') == 5 and f"2 / {-(-total // 5)}" in paged
        finally:
            routes_faces.PAGE = page_size
        r = c.post("/faces/delete", data={"set": "faces/g", "face": first}, headers=h)
        assert r.status_code == 200 and r.text.count('class="face"') == total - 2
        assert not (folder / first[0]).exists() and (folder / ".twoface-deleted" / first[0]).exists()
        r = c.post("/faces/undo", data={"set": "faces/g"}, headers=h)
        assert r.text.count('class="face"') == total and (folder / first[0]).exists()
        c.post("/faces/delete", data={"set": "faces/g", "face": first[:1]}, headers=h)
        with AlignmentsStore.open(store, readonly=True) as db:
            before = db.face_count()
        job = c.post("/faces/prune", data={"set": "faces/g"}, headers=h).json()
        done = wait_job(c, job["id"])
        assert done["status"] == "done", done
        assert done["result"]["removed"] == 1
        with AlignmentsStore.open(store, readonly=True) as db:
            assert db.face_count() == before - 1
        events = c.get(f"/jobs/{job['id']}/events", params={"once": 1})
        assert events.headers["content-type"].startswith("text/event-stream")
        assert json.loads(events.text.split("data: ", 1)[1])["status"] == "done"
        assert "twoface prune: done" in c.get(f"/jobs/{job['id']}").text
        c.post("/faces/undo", data={"set": "faces/g"}, headers=h)  # the file comes back (the store row stays pruned)
        assert (folder / first[0]).exists()
        # `twoface sort` as a job: files are renamed in rank order, the grid still shows them all, Undo puts them back
        job = c.post("/faces/sort", data={"set": "faces/g", "by": "yaw"}, headers=h).json()
        assert wait_job(c, job["id"])["status"] == "done"
        moved = list(folder.rglob(f"*_{first[0]}"))  # a key sort without bins renames with a rank prefix
        assert not (folder / first[0]).exists() and len(moved) == 1, moved
        assert c.get("/fragments/grid", params={"set": "faces/g"}).text.count('class="face"') == total
        assert "Undo sort by yaw" in c.get("/fragments/grid", params={"set": "faces/g"}).text
        c.post("/faces/undo", data={"set": "faces/g"}, headers=h)
        assert (folder / first[0]).exists()
        assert c.post("/faces/sort", data={"set": "faces/g", "by": "nonsense"}, headers=h).status_code == 400


def test_jobs_survive_a_restart(tmp_path, data_dir):
    ws = make_workspace(tmp_path / "ws", data_dir)
    app = create_app(ws)
    h = csrf_headers(app)
    (ws / "sources" / "notes.mp4").write_text("not a video")
    with TestClient(app) as c:
        assert c.post("/extract", data={"input": "sources/bbaf2n.mpg", "output": "x", "size": "8"},
                      headers=h).status_code == 400  # refused before it becomes a job
        failed = c.post("/extract", data={"input": "sources/notes.mp4", "output": "x"}, headers=h).json()
        second = c.post("/extract", data={"input": "sources/notes.mp4", "output": "y"}, headers=h).json()
        assert wait_job(c, failed["id"])["status"] == "failed"
        second = wait_job(c, second["id"])
        first = c.get(f"/api/jobs/{failed['id']}").json()
        assert second["queue"] == first["queue"] and second["started"] >= first["finished"]  # one at a time
    # a job that was running when the UI died: its process is gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = JobStore(ws / ".twoface-ui")
    lost = store.add("extract", "extract that was running", {"stage": "extract", "kwargs": {
        "input": str(ws / "sources" / "lbbc2a.mpg"), "faces_dir": str(ws / "faces" / "b"), "every": 25,
        "size": 64, "progress": False}}, "device:auto")
    store.update(lost.id, status="running", pid=dead.pid, started=time.time())
    app2 = create_app(ws)
    with TestClient(app2) as c:
        jobs = {j["id"]: j for j in c.get("/api/jobs").json()}
        assert jobs[failed["id"]]["status"] == "failed" and "notes.mp4" in jobs[failed["id"]]["error"]
        assert jobs[lost.id]["status"] == "interrupted" and jobs[lost.id]["resumable"]
        assert "interrupted" in c.get("/jobs").text
        again = c.post(f"/jobs/{lost.id}/resume", headers=csrf_headers(app2)).json()
        assert again["id"] != lost.id and again["spec"] == jobs[lost.id]["spec"]
        done = wait_job(c, again["id"])
        assert done["status"] == "done" and done["result"]["faces"] >= 2
        assert c.post(f"/jobs/{again['id']}/resume", headers=csrf_headers(app2)).status_code == 400


def test_cancel_a_queued_job_and_unknown_jobs(app, client):
    h = csrf_headers(app)
    job = client.post("/extract", data={"input": "sources/bbaf2n.mpg", "output": "q"}, headers=h).json()
    assert job["status"] == "queued" and job["queue"] == "device:auto"
    assert client.post(f"/jobs/{job['id']}/cancel", headers=h).json()["status"] == "cancelled"
    assert client.get("/api/jobs/99999").status_code == 400
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "cancelled"


def test_training_routes_without_a_training(app, client):
    h = csrf_headers(app)
    data = client.get("/api/train", params={"model": "models/none"}).json()
    assert data["chart"]["points"] == 0 and data["preview"] is None and data["job"] is None
    ev = client.get("/train/events", params={"model": "models/none", "once": 1})
    assert ev.status_code == 200 and ev.text.startswith("data: ")
    assert client.post("/train/snapshot", data={"model": "models/none"}, headers=h).status_code == 400
    assert client.post("/train/try", data={"model": "models/none", "input": "sources/bbaf2n.mpg"},
                       headers=h).status_code == 400
    r = client.post("/train", data={"faces_a": "faces/g", "faces_b": "faces/g", "model": "m", "batch_size": "0"},
                    headers=h)
    assert r.status_code == 400 and "--batch-size" in r.text  # TrainOptions validates before a job is queued
    r = client.post("/train", data={"faces_a": "faces/g", "faces_b": "faces/g", "model": "m"}, headers=h)
    assert r.status_code == 400 and "same folder" in r.text
    assert client.post("/convert/preview", data={"input": "sources/bbaf2n.mpg", "model": "models/none"},
                       headers=h).status_code == 403


def test_console_line_and_event_reading(tmp_path):
    """The live view reads the trainer's own console line and TensorBoard events."""
    from twoface.train.logs import TrainLog
    from twoface.ui import trainview as tv

    out = io.StringIO()
    log = TrainLog(tmp_path, 0, 100, None, faces_per_step=8, stream=out)
    for it in (5, 10):
        log.speed.add(0.5)
        log.console(it, {"a": 0.5 / it, "b": 0.6 / it}, 16.0)
    log.scalars(10, {"valid/a": 0.3, "valid/b": 0.4})
    log.close()
    stats = tv.console_stats(out.getvalue())
    assert stats["iteration"] == 10 and stats["faces_per_s"] == 16.0 and stats["eta"]
    series = tv.EventReader(tmp_path).read()
    payload = tv.chart_payload(series)
    assert payload["loss"][0] == [5, 10] and payload["points"] == 2
    assert payload["loss"][1][1] == pytest.approx(0.05) and payload["quality"][0] == [10]


def test_report_page(client, face_workspace):
    report = {"model": {"path": "models/none", "iteration": 5},
              "swap": {"a2b": {"id_retrieval": 0.75, "chance": 0.5, "similarity": 0.6}}, "seconds": 3.5}
    path = face_workspace / "outputs" / "t-report.json"
    path.write_text(json.dumps(report))
    r = client.get("/report", params={"path": "outputs/t-report.json"})
    assert r.status_code == 200 and "id_retrieval" in r.text and "0.750" in r.text
    (face_workspace / "outputs" / "bad-report.json").write_text("{not json")
    assert client.get("/report", params={"path": "outputs/bad-report.json"}).status_code == 400
    assert "outputs/t-report.json" in client.get("/fragments/reports").text
    path.unlink()
    (face_workspace / "outputs" / "bad-report.json").unlink()
    shutil.rmtree(face_workspace / "outputs" / "none", ignore_errors=True)
