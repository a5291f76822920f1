"""The reviewer report in a real headless browser: Playwright's Python package driving
Debian's chromium (/usr/bin/chromium; `playwright install` is never needed).

Install on a fresh Debian machine with .ci/browser-deps.sh. Skipped when the playwright
package or /usr/bin/chromium is missing, so the other tests still run anywhere.
Leaves a screenshot in tests/artifacts/report.png (git-ignored).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (run .ci/browser-deps.sh)", allow_module_level=True)

from normalize.report import write_report  # noqa: E402

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
_spec = importlib.util.spec_from_file_location("report_fixture", HERE / "data" / "report_fixture" / "fixture.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Watched:
    """A page with everything that could go wrong recorded."""

    def __init__(self, browser, url: str) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def visible_flags(self) -> list[dict]:
        return self.page.eval_on_selector_all(
            "article.flag",
            "els => els.filter(e => e.offsetParent !== null).map(e => ({doc: e.dataset.doc, "
            "conf: parseFloat(e.dataset.conf), reasons: e.dataset.reasons.split(' ')}))")

    def visible_docs(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "section.doc", "els => els.filter(e => e.offsetParent !== null).map(e => e.querySelector('h3').textContent)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    fx.build_run(out)
    return write_report(out)


def test_report_in_chromium(browser, report):
    w = Watched(browser, report.as_uri())
    page = w.page
    data = json.loads(page.text_content("#report-data"))
    total = data["flagsTotal"]
    assert total == 12
    assert len(w.visible_flags()) == total
    assert page.text_content("#f-count") == f"{total} of {total} flags shown"

    # the hostile text is shown as text; nothing ran
    script_mark = page.locator("mark.hl", has_text="<script>alert(1)</script>")
    assert script_mark.count() == 1 and script_mark.first.is_visible()
    assert page.locator("mark.hl", has_text='"><img src=x onerror=alert(1)>').first.is_visible()
    assert page.get_by_role("heading", name=fx.HOSTILE_FILE).is_visible()
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2

    # filter by reason: flags without it are hidden, the ones with it stay
    markup = next(r for r in data["reasons"] if r["code"] == "markup")
    page.select_option("#f-reason", str(markup["i"]))
    shown = w.visible_flags()
    assert len(shown) == markup["count"] == 2
    assert all(str(markup["i"]) in f["reasons"] for f in shown)
    hidden = page.eval_on_selector_all(
        "article.flag", "els => els.filter(e => e.offsetParent === null).map(e => e.dataset.reasons.split(' '))")
    assert len(hidden) == total - 2 and all(str(markup["i"]) not in r for r in hidden)
    assert w.visible_docs() == ["020_hostile.txt"]
    assert page.text_content("#f-count") == f"2 of {total} flags shown"

    # filter by document: only that document
    page.select_option("#f-reason", "")
    doc = next(d for d in data["docs"] if d["name"] == "feeds/batch.jsonl, line 4")
    page.select_option("#f-doc", str(doc["id"]))
    assert w.visible_docs() == ["feeds/batch.jsonl, line 4"]
    assert [f["doc"] for f in w.visible_flags()] == [str(doc["id"])]
    assert page.get_by_text("The private parts of Ukraine were shelled at night.").is_visible()

    # a document without flags can be chosen too
    quiet = next(d for d in data["docs"] if d["name"] == "030_clean.txt")
    page.select_option("#f-doc", str(quiet["id"]))
    assert w.visible_docs() == ["030_clean.txt"]
    assert w.visible_flags() == []

    # confidence slider: only flags at or below the threshold
    page.click("#f-reset")
    page.eval_on_selector("#f-conf", "el => { el.value = '0.3'; el.dispatchEvent(new Event('input')); }")
    shown = w.visible_flags()
    assert shown and all(f["conf"] <= 0.3 for f in shown)
    assert len(shown) == 5  # 0.1, 0.15, 0.2, 0.25, 0.3
    assert page.text_content("#f-conf-out") == "0.30"
    # a filter that matches nothing says so
    page.eval_on_selector("#f-conf", "el => { el.value = '0'; el.dispatchEvent(new Event('input')); }")
    assert w.visible_flags() == []
    assert page.locator("#no-match").is_visible()

    # clicking a reason in the summary sets the filter
    page.click("#f-reset")
    page.click("button[data-set-reason='untranslated']")
    assert [f["doc"] for f in w.visible_flags()] == [
        str(next(d for d in data["docs"] if d["name"] == "feeds/batch.jsonl, line 1")["id"])]

    page.click("#f-reset")
    assert len(w.visible_flags()) == total
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    assert w.dialogs == []
    assert w.errors == []
    assert all(u.startswith(("file:", "data:")) for u in w.requests), w.requests
    page.close()


def test_report_of_a_run_without_flags(browser, tmp_path):
    fx.build_run(tmp_path, hostile_name=False)
    fx.drop_flags(tmp_path)
    w = Watched(browser, write_report(tmp_path).as_uri())
    assert w.page.get_by_role("heading", name="No flags in this run").is_visible()
    assert w.page.is_disabled("#f-reason")
    assert "030_clean.txt" in w.visible_docs()
    w.page.click("text=All edits in this document (5)")
    assert w.page.get_by_text("debris/copyright-credit · removed").first.is_visible()
    assert w.errors == [] and w.dialogs == []
    w.page.close()
