"""The portal in a real browser: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright.

Each pytest session (each xdist worker) serves the app once with uvicorn on a free local port, over a
SQLite database holding a small demo book, and launches one headless Chromium; every test gets a
fresh browser context (no cookies carried over). Playwright never downloads a browser: ``make test``
installs Debian's ``chromium`` with apt when it is missing. Without it the tests skip, or fail under
``TRADECOVER_REQUIRE_BROWSER=1`` (``.ci/run`` sets it).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_support import ARTIFACTS, watch
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tradecover.api.app import create_app
from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.persistence.migrate import upgrade
from tradecover.services.demo_book import load_demo_book

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "TRADECOVER_REQUIRE_BROWSER"
DEMO_BUYERS = 40
START_TIMEOUT_SECONDS = 20.0


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (make test installs Debian's chromium with apt)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def live_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """The live server's container: a SQLite database holding the demo book (its claims included).

    Tests read it to find what to open (a claim's insured, say); they change data only through the pages.
    Password hashing is already test-sized here (the session-wide autouse fixture runs first).
    """
    _require_chromium()
    path = tmp_path_factory.mktemp("portal") / "portal.db"
    settings = Settings(database_url=f"sqlite:///{path}", environment=Environment.TEST)
    container = build(settings)
    upgrade(container.engine)
    load_demo_book(container.uow, container.clock, buyers_count=DEMO_BUYERS)
    yield container
    container.dispose()


@pytest.fixture(scope="session")
def live_server(live_container: Container) -> Iterator[str]:
    """The app served by uvicorn in a background thread; yields its base URL (``http://127.0.0.1:PORT``)."""
    container = live_container
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(container=container), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="portal-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{base_url}/login", server, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_until_answering(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("the portal server stopped while starting (see the captured log)", pytrace=False)
        if server.started:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a local http URL we built
                    return
            except urllib.error.HTTPError:
                return  # it answers, if not (yet) with the page: the tests say what is wrong
            except OSError:
                pass
        time.sleep(0.05)
    pytest.fail(f"the portal server did not answer {url} within {START_TIMEOUT_SECONDS:.0f} s", pytrace=False)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    _require_chromium()
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # --no-sandbox: CI runs as root, where Chromium refuses its sandbox; /dev/shm may be small in containers.
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    # A French browser (Accept-Language fr-FR), as most of the portal's users; a fresh one per test.
    fresh = browser.new_context(base_url=live_server, locale="fr-FR", viewport={"width": 1280, "height": 800})
    fresh.set_default_timeout(10_000)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = context.new_page()
    watch(opened)
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = ARTIFACTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        opened.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call's report on the item, so that the page fixture screenshots failures."""
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report
