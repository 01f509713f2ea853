"""report.html as a person meets it: opened in a real browser (Debian's chromium, headless, driven by
Playwright), the verdict read, a finding found, a grid cell clicked for its evidence, a test linked by its
anchor. Saves reports/report-screenshot.png.

Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Playwright uses that
browser and never downloads one of its own: do not run `playwright install`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.report.formatting import anchor_ids
from harness.report.html import write_html
from tests.report_data import FAIL_NODEID, MISMATCH_NODEID, rich_report

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPORTS = Path(__file__).resolve().parent.parent / "reports"
SCREENSHOT = REPORTS / "report-screenshot.png"
# This machine's network is closed: without these, chromium hangs on connection attempts.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def chromium_path() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed: `apt-get install -y chromium` (the report is checked in a "
            "real browser; .ci/run installs it)",
            pytrace=False,
        )
    return found


@dataclass
class Opened:
    page: Page
    html: Path
    problems: list[str] = field(default_factory=list)  # script errors and network requests: none allowed


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opened]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[dev]'", pytrace=False)
    work = tmp_path_factory.mktemp("browser")
    html = write_html(rich_report(), work / "report.html")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(work / "profile"),  # a fresh user-data dir
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            timeout=TIMEOUT_MS,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        found = Opened(page, html)
        page.on("pageerror", lambda error: found.problems.append(f"script error: {error}"))
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(("file:", "data:", "about:"))
                else found.problems.append(f"network request: {request.url}")
            ),
        )
        page.goto(html.as_uri())
        yield found
        context.close()


def test_the_verdict_line_comes_first(opened: Opened) -> None:
    page = opened.page
    verdict = page.locator("#verdict-line")
    assert verdict.is_visible()
    assert verdict.inner_text().startswith("Not conformant: 4 failed, 1 harness error of 41 tests")
    assert "1 finding confirmed" in verdict.inner_text()
    assert opened.problems == []


def test_a_finding_row_shows_its_evidence(opened: Opened) -> None:
    page = opened.page
    row = page.locator("#findings-table tr#finding-AUTHZ-MATRIX-002")
    text = row.inner_text()
    assert "is a usable role for workers" in text  # what the doc says
    assert "a worker with it cannot poll" in text  # what the server does
    assert "confirmed" in text and "test_worker_role_alone" in text
    assert page.locator("#findings-table tr.finding").count() == 4


def test_clicking_a_grid_cell_shows_its_evidence(opened: Opened) -> None:
    page = opened.page
    mismatches = page.locator("#grid td.c.mm")
    assert mismatches.count() == 2
    mismatches.first.click()
    panel = page.locator("#panel")
    page.wait_for_selector("#panel.open")
    text = panel.inner_text()
    assert "NamespaceReader on StartWorkflowExecution (Own)" in text
    assert MISMATCH_NODEID in text
    expected = panel.locator("table.eo tr.diff").all_inner_texts()
    assert [" ".join(t.split()) for t in expected] == ["expected DENIED", "observed ALLOWED"]
    assert "grid-NamespaceReader" in text and "authz-matrix:read" in text  # the decoded claims
    assert "role 2 < WRITER (4)" in text  # the model's reason
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    page.keyboard.press("Escape")
    page.wait_for_selector("#panel:not(.open)", state="attached")
    assert opened.problems == []


def test_a_test_anchor_opens_that_test(opened: Opened) -> None:
    page = opened.page
    data = rich_report()
    anchor = anchor_ids(t["nodeid"] for t in data["tests"])[
        [t["nodeid"] for t in data["tests"]].index(FAIL_NODEID)
    ]
    page.goto(f"{opened.html.as_uri()}#{anchor}")
    page.wait_for_selector("#panel.open")
    text = page.locator("#panel").inner_text()
    assert FAIL_NODEID in text and "boom <script>alert(1)</script>" in text  # shown as text, not run
    assert "PERMISSION_DENIED 'Request unauthorized.'" in text  # the server's answer per call
    assert "<server header>: Bearer' '<token>" in text  # how the token was carried
    assert page.locator(f"#{anchor}").is_visible()
    assert opened.problems == []


def test_the_filters_narrow_the_grid_and_the_tests(opened: Opened) -> None:
    page = opened.page
    page.goto(opened.html.as_uri())
    page.select_option("#f-grade", "mm")
    assert page.locator("#grid tr.gr:visible").count() == 2
    page.select_option("#f-grade", "")
    page.select_option("#f-surface", "http")
    assert page.locator("#grid tr.gr:visible").count() == 1
    page.select_option("#f-surface", "")
    page.fill("#f-text", "deletenamespace")
    assert page.locator("#grid tr.gr:visible").count() == 1
    page.fill("#f-text", "")
    page.select_option("#f-shape", label="Anonymous")
    assert page.locator("#grid th.shape:visible").count() == 2  # one per namespace column
    page.check("#with-grid")
    shown = page.locator("#tests tr.gc:visible").all_inner_texts()
    assert len(shown) == 8 and all("Anonymous" in row for row in shown)  # 4 methods x 2 columns
    assert opened.problems == []
