"""The reviewer workflow end to end, in a real headless browser: Playwright's Python package
driving Debian's chromium (/usr/bin/chromium; `playwright install` is never needed).

`normalize run` on the sample corpus (plus one hostile document), `normalize review` serving it,
a reviewer accepting a suggestion and marking a false alarm with the keyboard, a second reviewer
disagreeing on a third flag (a conflict), a reload showing all of it, `normalize apply`, and a new
run with the proposed gazetteer that makes the accepted correction itself and no longer raises the
false alarm. Leaves a screenshot in tests/artifacts/review.png (git-ignored); the README's
docs/review.png is written when it is missing or NORMALIZE_SCREENSHOT=1 is set (it shows the
decisions' times, so it is not rewritten by every test run).

Install on a fresh Debian machine with .ci/browser-deps.sh. Skipped when the playwright package
or /usr/bin/chromium is missing, so the other tests still run anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (run .ci/browser-deps.sh)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SHOT = ROOT / "docs" / "review.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
HOSTILE = ("NATO allies met on Monday.\n\nThe Coalition said <script>alert(1)</script> and "
           '"><img src=x onerror=alert(2)> were not welcome, NATO added.\n')


def normalize_cmd(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "normalize", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    if check:
        assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Server:
    """`normalize review OUT --port 0` in a subprocess; its URL is the first line it prints."""

    def __init__(self, out: Path, reviewer: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "normalize", "review", str(out), "--port", "0",
                                      "--reviewer", reviewer], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.url = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        assert self.url.startswith("http://127.0.0.1:"), (self.url, self.proc.stderr.read() if self.proc.stderr else "")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def card(page, text: str):
    """The card of the flag whose sentence (highlighted in its paragraph) contains ``text``."""
    loc = page.locator("article.flag").filter(has=page.locator(".ctx mark.hl", has_text=text))
    assert loc.count() == 1, text
    return loc


def decide_with_key(page, text: str, key: str) -> None:
    c = card(page, text)
    c.locator(".fhead").click()
    with page.expect_response(lambda r: r.url.endswith("/api/decision") and r.request.method == "POST") as resp:
        page.keyboard.press(key)
    assert resp.value.status == 200, resp.value.text()


def test_review_accept_false_alarm_conflict_apply_and_rerun(browser, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("review-proposals.yaml"))
    corpus = tmp_path / "in"
    shutil.copytree(ROOT / "corpus_in", corpus)
    (corpus / "zz_hostile.txt").write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "out"
    normalize_cmd("run", str(corpus), str(out), "--rules", str(rules), "-q")

    server = Server(out, "ann")
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
                else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        n_flags = page.locator("article.flag").count()
        assert n_flags >= 20
        assert page.text_content("#f-count") == f"{n_flags} of {n_flags} flags shown"

        # hostile text is shown as text; nothing ran
        hostile = card(page, "<script>alert(1)</script>")
        assert hostile.locator("mark.hl").first.is_visible()
        assert page.locator("main img").count() == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 1

        # ann: accept the calque suggestion with "a", mark a false alarm with "f"
        decide_with_key(page, "four F-16 bombers to Lithuania", "a")
        decide_with_key(page, "Also: The Coalition does not want", "f")
        f16 = card(page, "four F-16 bombers to Lithuania")
        assert "ann: accepted → F-16 fighter jets" in f16.locator(".verdicts").text_content()
        assert "ann: false alarm" in card(page, "Also: The Coalition does not want").locator(".verdicts").text_content()

        # ann types a correction: "e", edit the sentence, Ctrl+Enter
        natos = card(page, "NATOs have a long-standing interest")
        natos.locator(".fhead").click()
        page.keyboard.press("e")
        area = natos.locator("textarea")
        assert area.is_visible() and area.evaluate("e => e === document.activeElement")
        area.fill(area.input_value().replace("NATOs have", "NATO countries have"))
        with page.expect_response(lambda r: r.url.endswith("/api/decision")) as resp:
            page.keyboard.press("Control+Enter")
        assert resp.value.status == 200
        assert "ann: corrected → NATO countries" in natos.locator(".verdicts").text_content()

        # bob disagrees with ann on another flag: a conflict, shown, nothing overwritten
        decide_with_key(page, "the federation responded in writing", "a")
        page.fill("#reviewer", "bob")
        page.dispatch_event("#reviewer", "change")
        decide_with_key(page, "the federation responded in writing", "f")
        fed = card(page, "the federation responded in writing")
        assert "Conflict: ann (accepted) and bob (false alarm) disagree" in fed.locator(".conflict-note").text_content()

        # filters: by reason, and by status
        page.select_option("#f-reason", "calque")
        shown = page.eval_on_selector_all("article.flag", "els => els.filter(e => !e.hidden).length")
        assert 0 < shown < n_flags
        page.select_option("#f-status", "conflict")
        assert page.eval_on_selector_all("article.flag", "els => els.filter(e => !e.hidden).length") == 1
        page.select_option("#f-status", "")
        page.select_option("#f-reason", "")

        # the help
        page.keyboard.press("?")
        assert page.locator("#help").is_visible()
        page.keyboard.press("Escape")
        assert not page.locator("#help").is_visible()

        # reload: every decision is still there (saved at once, on the server)
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.input_value("#reviewer") == "bob"  # remembered by the browser
        assert "ann: accepted → F-16 fighter jets" in card(page, "four F-16 bombers").locator(".verdicts").text_content()
        assert "ann: false alarm" in card(page, "Also: The Coalition does not").locator(".verdicts").text_content()
        assert card(page, "the federation responded").locator(".conflict-note").is_visible()
        assert "3 decided · 1 conflict · " in page.text_content("#summary")

        # the README's screenshot: the calque flags of seed 004, with the three decisions
        page.select_option("#f-doc", label=next(o for o in page.eval_on_selector_all(
            "#f-doc option", "os => os.map(o => o.textContent)") if o.startswith("004_")))
        page.select_option("#f-reason", "calque")
        card(page, "the federation responded").locator(".fhead").click()
        page.evaluate("window.scrollTo(0, 0)")
        page.set_viewport_size({"width": 1280, "height": 1040})
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review.png"))
        if os.environ.get("NORMALIZE_SCREENSHOT") == "1" or not README_SHOT.exists():
            shutil.copy(ARTIFACTS / "review.png", README_SHOT)
        page.close()
    finally:
        server.stop()

    assert errors == [] and dialogs == []
    assert all(u.startswith(server.url) for u in requests), requests
    decisions = [json.loads(x) for x in (out / "_normalize" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(d["reviewer"], d["action"]) for d in decisions] == [
        ("ann", "accept"), ("ann", "false-alarm"), ("ann", "correct"), ("ann", "accept"), ("bob", "false-alarm")]

    # apply: the accepted correction goes into the document; the conflict is skipped and reported
    applied = normalize_cmd("apply", str(out))
    assert "conflict on flag:" in applied.stderr and "ann (accept), bob (false-alarm)" in applied.stderr
    seed = next(out.glob("004_*.txt"))
    assert "four F-16 fighter jets to Lithuania" in seed.read_text(encoding="utf-8")
    assert "the federation responded" in seed.read_text(encoding="utf-8")
    review = [json.loads(x) for x in (out / "_normalize" / "edits.jsonl").read_text(encoding="utf-8").splitlines()
              if '"review"' in x]
    assert sorted((r["rule"], r["before"], r["after"], r["reviewer"]) for r in review) == [
        ("accept", "F-16 bombers", "F-16 fighter jets", "ann"), ("correct", "NATOs", "NATO countries", "ann")]
    assert "“NATO countries have a long-standing" in next(out.glob("003_*.txt")).read_text(encoding="utf-8")
    proposals = rules / "gazetteer" / "review-proposals.yaml"
    assert "F-16 fighter jets" in proposals.read_text(encoding="utf-8")
    assert "NATO countries" not in proposals.read_text(encoding="utf-8").replace("sentence: ", "").split("#")[0]
    assert normalize_cmd("rules", "check", str(rules)).returncode == 0

    # a new run with the proposals: the correction is made by itself, the false alarm is gone
    out2 = tmp_path / "out2"
    started = time.perf_counter()
    normalize_cmd("run", str(corpus), str(out2), "--rules", str(rules), "-q")
    assert time.perf_counter() - started < 120
    seed2 = (out2 / seed.name).read_text(encoding="utf-8")
    assert "four F-16 fighter jets to Lithuania" in seed2
    flags2 = [json.loads(x) for x in (out2 / "_normalize" / "flags.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not [f for f in flags2 if "Also: The Coalition does not want" in f["text"]
                and any(r["code"] == "calque" for r in f["reasons"])]
    assert not [f for f in flags2 if "F-16" in f["text"] and any(r["code"] == "calque" for r in f["reasons"])]
    assert [f for f in flags2 if "the federation responded" in f["text"]]  # the conflict changed nothing
