"""End to end in real headless Chromium (Debian's package, driven by Playwright): a user extracts
A and B from two short GRID clips, curates the face grid, trains a tiny model and watches it,
stops it, previews and runs a conversion, and reads the evaluation report.

Screenshots of every page go to test-artifacts/ui/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twoface_testing import REPO

from .conftest import make_workspace

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = REPO / "test-artifacts" / "ui"
TINY = "input_size=64,output_size=64,encoder_width=8,max_width=64,latent=64,decoder_width=64"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, data_dir):
    """`twoface ui WORKSPACE --port P` as a user starts it; yields the URL it prints."""
    ws = make_workspace(tmp_path / "ws", data_dir)
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "twoface.cli", "ui", str(ws), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    t0 = time.monotonic()
    while url is None and time.monotonic() - t0 < 60:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"open (http://\S+)", line)
        if m:
            url = m.group(1)
    assert url == f"http://127.0.0.1:{port}/", f"no URL printed (got {url!r})"
    for _ in range(100):  # the URL is printed just before uvicorn binds
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url.rstrip("/"), ws
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (scripts/setup.sh installs Debian's chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(180_000)
        yield pg
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def job_done_rows(page, selector: str) -> int:
    return page.locator(f"{selector} tr.job[data-status=done]").count()


def wait_jobs(page, selector: str, count: int, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        failed = page.locator(f"{selector} tr.job[data-status=failed]")
        assert failed.count() == 0, failed.first.inner_text()
        if job_done_rows(page, selector) >= count:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{count} job(s) in {selector} not done after {timeout} s: {page.inner_text(selector)}")


def _wait_path(check, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout, "timed out waiting for a file the job writes"
        time.sleep(0.5)


def test_whole_workflow_in_chromium(server, page):
    url, ws = server
    # 1. sources and extract: A and B, every 5th frame of one GRID clip each
    page.goto(f"{url}/sources")
    assert page.locator("#input option").count() == 2
    for name, clip in (("a", "sources/bbaf2n.mpg"), ("b", "sources/lbbc2a.mpg")):
        page.select_option("#input", clip)
        page.fill("input[name=output]", name)
        page.fill("input[name=every]", "5")
        page.fill("input[name=size]", "64")
        page.click("#extract-form button.primary")
        page.wait_for_selector("#extract-result .status")
    wait_jobs(page, "#extract-jobs", 2)
    page.wait_for_function("document.querySelectorAll('#extract-jobs .progress').length == 2")
    assert re.search(r"\d+ frames · \d+ faces found · [\d.]+ frames/s", page.inner_text("#extract-jobs"))
    shot(page, "1-sources")

    # 2. the face grid: delete one face, undo
    page.goto(f"{url}/faces?set=faces/a")
    total = int(page.inner_text("#face-total"))
    assert total >= 10 and page.locator(".face img").count() == total
    page.wait_for_function("[...document.querySelectorAll('.face img')].every(i => i.complete && i.naturalWidth === 112)")
    page.locator(".face").first.click()
    page.click("#delete-btn")
    page.wait_for_function(f"document.getElementById('face-total').textContent == '{total - 1}'")
    assert "moved 1 face" in page.inner_text("#grid-msg")
    shot(page, "2-faces-deleted")
    page.click("#undo-btn")
    page.wait_for_function(f"document.getElementById('face-total').textContent == '{total}'")
    assert page.locator(".face").count() == total

    # 3. a short training of a tiny model, watched live, then stopped
    page.goto(f"{url}/train")
    page.select_option("#faces_a", "faces/a")
    page.select_option("#faces_b", "faces/b")
    page.fill("input[name=model]", "ab")
    page.select_option("select[name=arch]", "custom")
    page.fill("input[name=options]", TINY)
    for name, value in (("batch_size", "4"), ("iterations", "5000"), ("preview_every", "2"), ("save_every", "4")):
        page.fill(f"input[name={name}]", value)
    page.click("summary:has-text('All training options')")
    page.fill("input[name=log_every]", "2")
    page.fill("input[name=eval_every]", "4")
    page.uncheck("input[name=quality]")
    # the page lists what was touched, so a preset would not overwrite a chosen value (ui/forms.py)
    assert set(page.input_value("#train-form input[name=__given]").split(",")) >= \
        {"arch", "options", "batch_size", "iterations", "log_every", "quality"}
    page.click("#train-form button.primary")
    page.wait_for_url(re.compile(r"/train/view\?model=models/ab"))
    page.wait_for_function("document.getElementById('preview-img').naturalWidth > 0", timeout=300_000)
    page.wait_for_function("window.twofaceCharts && window.twofaceCharts.loss && "
                           "window.twofaceCharts.loss.data[0].length > 0", timeout=300_000)
    first_points = page.evaluate("window.twofaceCharts.loss.data[0].length")
    first_preview = page.get_attribute("#preview-img", "src")
    page.wait_for_function(f"window.twofaceCharts.loss.data[0].length > {first_points}", timeout=300_000)
    page.wait_for_function(f"(i => i.getAttribute('src') != '{first_preview}' && i.complete && i.naturalWidth > 0)"
                           "(document.getElementById('preview-img'))", timeout=300_000)
    size = page.evaluate("[document.getElementById('preview-img').naturalWidth, "
                         "document.getElementById('preview-img').naturalHeight]")
    assert size[0] == 6 * 128 and size[1] > 128  # six 128 px columns (A, A->A, A->B, B, B->B, B->A)
    assert int(page.locator("#loss-chart").get_attribute("data-points")) > first_points - 1
    assert float(page.inner_text("#t-speed")) > 0
    shot(page, "3-training-live")
    page.click("#snapshot-btn")
    page.wait_for_selector("#action-msg:has-text('snapshot requested')")
    _wait_path(lambda: any((ws / "models" / "ab" / "snapshots").glob("*/weights.safetensors")))
    # try a conversion from the latest save while training goes on (a job on the side queue)
    page.fill("input[name=seconds]", "0.5")
    page.click("#try-btn")
    page.wait_for_selector("#try-jobs tr.job[data-status=done]", timeout=300_000)
    assert page.inner_text("#t-status") == "running"
    assert any((ws / "outputs").glob("try-ab-*.mp4"))
    page.click("#stop-btn")
    page.wait_for_function("document.getElementById('t-status').textContent == 'cancelled'", timeout=300_000)
    saved = int(page.inner_text("#t-saved"))
    assert saved >= int(page.inner_text("#t-iteration")) > 0  # stopping saved the last step

    # 4. convert: side-by-side preview that follows the settings, then the whole clip
    page.goto(f"{url}/convert")
    page.select_option("#input", "sources/bbaf2n.mpg")
    page.select_option("#model", "models/ab")
    page.fill("input[name=preview_frames]", "10,40")
    page.click("#preview-btn")
    page.wait_for_function("document.querySelectorAll('.pair img.swapped').length == 2 && "
                           "[...document.querySelectorAll('.pair img')].every(i => i.complete && i.naturalWidth == 360)")
    before = page.get_attribute(".pair img.swapped", "src")
    page.select_option("select[name=color]", "none")  # a changed setting re-renders the preview
    page.wait_for_function(f"document.querySelector('.pair img.swapped') && "
                           f"document.querySelector('.pair img.swapped').getAttribute('src') != '{before}'")
    page.wait_for_function("[...document.querySelectorAll('.pair img')].every(i => i.complete && i.naturalWidth == 360)")
    shot(page, "4-convert-preview")
    page.fill("input[name=frames]", "0-24")
    page.click("#convert-btn")
    page.wait_for_selector("#convert-result .status")
    page.goto(f"{url}/jobs")
    page.wait_for_selector("table.jobs tr.job[data-status=done]:has-text('-> outputs/swapped.mp4')", timeout=300_000)
    assert page.locator("table.jobs tr.job[data-status=failed]").count() == 0
    page.goto(f"{url}/convert")
    video = page.locator("video[src*='outputs/swapped.mp4']")
    assert video.count() == 1
    page.wait_for_function("document.querySelector(\"video[src*='outputs/swapped.mp4']\").readyState >= 1")
    assert page.evaluate("document.querySelector(\"video[src*='outputs/swapped.mp4']\").videoWidth") == 360
    shot(page, "5-convert-output")

    # 5. evaluate and the report page
    page.goto(f"{url}/evaluate")
    page.select_option("#model", "models/ab")
    page.select_option("#faces_b", "faces/b")
    page.fill("input[name=max_faces]", "4")
    page.fill("input[name=gallery_faces]", "4")
    page.click("form button.primary")
    page.wait_for_selector("#reports a", timeout=300_000)
    page.click("#reports a")
    page.wait_for_selector("h1:has-text('Report outputs/')")
    assert page.locator("table.kv tr").count() > 5
    assert page.locator("#report-chart canvas").count() == 1
    shot(page, "6-report")
    assert (ws / "outputs" / "swapped.mp4").stat().st_size > 1000
