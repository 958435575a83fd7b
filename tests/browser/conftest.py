"""Fixtures for the real-browser tests: headless Chromium and a local web server.

Chromium and its driver come from the system (Debian packages ``chromium`` and
``chromium-driver``); Selenium is never allowed to download a browser or a driver. Other paths can
be given with ``GANCOURSE_CHROMIUM`` and ``GANCOURSE_CHROMEDRIVER``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GANCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GANCOURSE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1400",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser tests (headless Chromium)")


@pytest.fixture(scope="session")
def driver():
    """One headless Chromium for the whole session, with a fresh profile."""
    webdriver = pytest.importorskip("selenium.webdriver")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            pytest.skip(f"{path} not found: install the Debian packages chromium and chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    profile = tempfile.mkdtemp(prefix="gancourse-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    browser.set_script_timeout(120)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="session")
def serve():
    """serve(folder) -> base URL of a web server on 127.0.0.1 (a free port) for that folder."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built book: $GANCOURSE_BOOK_HTML, or _build/html at the repository root."""
    return Path(os.environ.get("GANCOURSE_BOOK_HTML", ROOT / "_build" / "html")).resolve()


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """The folder for screenshots ($GANCOURSE_SCREENSHOTS), or None to take none."""
    folder = os.environ.get("GANCOURSE_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
