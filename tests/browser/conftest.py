"""A real browser against a real server: Debian's Chromium driven by Playwright, talking to the
app served by werkzeug on a free local port, with CSRF protection and rate limits on as in
production.

The app fixture here replaces the one of ``tests/conftest.py`` for these tests only, so the
``make`` factory arranges rows in the database the server reads. Screenshots of the steps of
each journey (and of the page at the moment a test fails) are kept in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD
from web import create_app, database
from workflow.adapters import tables as t

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SUBRESOURCES = {"stylesheet", "script", "image", "font", "fetch", "xhr"}
#: Page loads include a diagram rendered on save; an action that takes longer is a failure.
TIMEOUT_MS = 20_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's outcome on the test item, so fixtures know a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium for the whole session; each test opens its own context."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _wipe(app) -> None:
    with database.engine(app).begin() as connection:
        for table in reversed(t.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def app(database_url, tmp_path):
    """The production configuration (CSRF, rate limits) on the suite's test database."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "browser-test-secret",
            "RENDER_CACHE_DIR": str(tmp_path / "renders"),
        }
    )
    assert app.config.get("WTF_CSRF_ENABLED", True) and app.config.get("RATELIMIT_ENABLED", True)
    _wipe(app)
    yield app
    _wipe(app)
    database.engine(app).dispose()


class _QuietHandler(WSGIRequestHandler):
    """Requests are not logged: the test report shows what failed, the screenshots the rest."""

    def log_request(self, code="-", size="-") -> None:
        pass


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on http://127.0.0.1:<free port>, served by threads until the test ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@dataclass
class BrowserProblems:
    """What a user would not see but should never happen: script errors, CSP violations,
    failed requests for the page's own files."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.messages.append(f"script error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message) -> None:
        # A failed load is reported by _response with its address; documents may fail on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.messages.append(f"console error: {message.text}")

    def _response(self, response) -> None:
        request = response.request
        if (
            response.status >= 400
            and request.resource_type in SUBRESOURCES
            and not request.url.endswith("/favicon.ico")
        ):
            self.messages.append(f"{request.resource_type} {request.url}: HTTP {response.status}")


@dataclass
class Browser:
    """Opens pages on the live server and saves named screenshots of them."""

    chromium: object
    base_url: str
    test_name: str
    contexts: list = field(default_factory=list)
    problems: BrowserProblems = field(default_factory=BrowserProblems)
    pages: list = field(default_factory=list)

    def page(self, *, phone: bool = False):
        options = {"base_url": self.base_url, "viewport": PHONE if phone else DESKTOP}
        if phone:
            options |= {"is_mobile": True, "has_touch": True}
        context = self.chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        self.problems.watch(page)
        self.pages.append(page)
        return page

    def shot(self, page, step: str) -> Path:
        """Saves the whole page as ``<test name>-<step>.png``."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


@pytest.fixture
def browser(request, chromium, live_server) -> Iterator[Browser]:
    """Pages for one test; on failure each open page is saved as ``...-failure-N.png``."""
    opened = Browser(chromium, live_server, _slug(request.node.name))
    for stale in SCREENSHOTS.glob(f"{opened.test_name}-*.png"):
        stale.unlink()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for number, page in enumerate(opened.pages, start=1):
            if not page.is_closed():
                opened.shot(page, f"failure-{number}")
    problems = list(opened.problems.messages)
    opened.close()
    if report is not None and report.passed and problems:
        pytest.fail("the browser reported problems:\n" + "\n".join(problems))


LogIn = Callable[..., None]


@pytest.fixture
def log_in() -> LogIn:
    """Logs ``user`` in through the login form, as a person would."""

    def log_in(page, user, password: str = PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("E-mail").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        assert "/login" not in page.url, page.content()

    return log_in
