"""The reviewer report (normalize/report.py), without a browser: escaping, self-containment,
counts, context and edits near flags, caps. The browser checks are in test_report_browser.py."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from normalize.report import write_report

FIXTURE = Path(__file__).parent / "data" / "report_fixture" / "fixture.py"
_spec = importlib.util.spec_from_file_location("report_fixture", FIXTURE)
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

DATA_RE = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <section class="doc">."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(page)
    return p.tags


def _data(page: str) -> dict:
    m = DATA_RE.search(page)
    assert m, "no embedded JSON data"
    return json.loads(m.group(1))


def _outside_data(page: str) -> str:
    return DATA_RE.sub("", page)


def _sections(page: str) -> dict[str, str]:
    """The HTML of each document section, by its (unescaped) heading."""
    out = {}
    for m in re.finditer(r'<section class="doc[^"]*"[^>]*><header><h3>(.*?)</h3>(.*?)</section>', page, re.S):
        out[html.unescape(m.group(1))] = m.group(2)
    return out


def _paras(section: str) -> list[str]:
    return re.split(r'<div class="para"', section)[1:]


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    fx.build_run(out)
    return out


@pytest.fixture(scope="module")
def page(run_dir) -> str:
    path = write_report(run_dir)
    assert path == run_dir / "_normalize" / "report.html"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def summary(run_dir) -> dict:
    return json.loads((run_dir / "_normalize" / "summary.json").read_text(encoding="utf-8"))


# -- escaping ---------------------------------------------------------------------------------
def test_hostile_text_is_escaped(page):
    outside = _outside_data(page)
    assert "<script>alert" not in outside
    assert "<img" not in outside
    assert "<b>entities" not in outside
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in outside
    # the hostile file name is a heading, escaped
    assert html.escape(fx.HOSTILE_FILE) in outside


def test_embedded_json_cannot_close_its_script(page):
    raw = DATA_RE.search(page).group(1)
    assert "</script" not in raw.lower()
    assert "<" not in raw and ">" not in raw  # written as \u003c / \u003e
    data = json.loads(raw)
    assert fx.HOSTILE_FILE in {d["name"] for d in data["docs"]}


def test_no_injected_elements_or_handlers(page):
    tags = _tags(page)
    names = [t for t, _ in tags]
    assert "img" not in names and "iframe" not in names and "object" not in names
    assert names.count("script") == 2  # the JSON data and the page's own script
    for tag, attrs in tags:
        for name in attrs:
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"


def test_content_security_policy(page):
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert m, "no CSP meta tag"
    csp = html.unescape(m.group(1))
    for directive in ("default-src 'none'", "style-src 'unsafe-inline'", "script-src 'unsafe-inline'",
                      "img-src data:"):
        assert directive in csp
    assert page.index("Content-Security-Policy") < page.index("<style>")


# -- self-contained ---------------------------------------------------------------------------
def test_self_contained(page):
    for tag, attrs in _tags(page):
        for name in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http://", "https://", "//")), f"<{tag} {name}={value}>"
        assert "src" not in attrs, f"<{tag}> loads {attrs['src']}"  # nothing is loaded at all
        if tag == "link":
            assert (attrs.get("href") or "").startswith("data:"), attrs
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page, re.I)
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page)
    assert "<link rel=\"stylesheet\"" not in page


# -- counts -------------------------------------------------------------------------------------
def test_counts_match_summary(page, summary):
    data = _data(page)
    assert data["flagsTotal"] == summary["flags"]["total"] == 12
    assert {r["code"]: r["count"] for r in data["reasons"]} == summary["flags"]["by_reason"]
    assert page.count('<article class="flag') == summary["flags"]["total"]
    cards = dict(re.findall(r'data-count="([^"]+)">(\d+)<', page))
    assert int(cards["flags"]) == summary["flags"]["total"]
    assert int(cards["edits"]) == summary["edits"]["total"]
    assert int(cards["documents"]) == summary["documents"]["written"]
    assert int(cards["errors"]) == summary["errors"]["total"]
    by_pass = {html.unescape(k): int(v) for k, v in
               re.findall(r'<tr><th scope="row">([^<]+)</th><td class="n">(\d+)</td><td class="bar">', page)}
    assert by_pass == summary["edits"]["by_pass"]
    for code, n in summary["flags"]["by_reason"].items():
        assert re.search(rf'data-set-reason="{re.escape(code)}">.*?</button></th><td class="n">{n}<', page)
    # every flag carries the reasons it has, as indexes into the data's reason list
    idx = {r["code"]: str(r["i"]) for r in data["reasons"]}
    flags = [json.loads(x) for x in (Path(summary["output"]) / "_normalize/flags.jsonl").read_text().splitlines()]
    got = re.findall(r'<article class="flag[^"]*" id="flag-\d+" data-doc="\d+" data-conf="([\d.]+)" '
                     r'data-reasons="([\d ]*)"', page)
    assert sorted((float(c), r) for c, r in got) == sorted(
        (f["confidence"], " ".join(dict.fromkeys(idx[x["code"]] for x in f["reasons"]))) for f in flags)


def test_flags_per_document_and_errors(page):
    secs = _sections(page)
    assert secs["010_nato.txt"].count('<article class="flag') == 5
    assert secs["020_hostile.txt"].count('<article class="flag') == 2
    assert secs["feeds/batch.jsonl, line 1"].count('<article class="flag') == 1
    assert secs["feeds/batch.jsonl, line 4"].count('<article class="flag') == 1
    assert secs["feeds/more.jsonl.gz, line 1"].count('<article class="flag') == 1
    assert '<article class="flag' not in secs["030_clean.txt"]  # listed with its edits only
    assert "All edits in this document (1)" in secs["030_clean.txt"]
    assert "Documents that could not be processed" in page
    assert "invalid JSON" in page


# -- context and edits ------------------------------------------------------------------------------
def test_flag_shown_inside_its_paragraph(page):
    nato = _paras(_sections(page)["010_nato.txt"])
    # the three flags of the first paragraph share it: one paragraph, three highlights
    first = nato[0]
    assert first.count('<article class="flag') == 3
    assert first.count('<mark class="hl"') >= 3
    ctx = _text(re.search(r'<p class="ctx">(.*?)</p>', first, re.S).group(1))
    assert "Polish President Andrej Doubt" in ctx and "The mood was lazy." in ctx
    marks = [_text(m) for m in re.findall(r'<mark class="hl"[^>]*>(.*?)</mark>', first, re.S)]
    assert "The mood was lazy." in marks
    # reasons in words, suggestions, confidence
    assert "Suggestion: <q>Andrzej Duda</q>" in first
    assert "NATO&#x27;s collective defence clause is Article 5" in first
    assert "<b>0.20</b> likely wrong" in first
    # a sentence that is not flagged is context, not highlighted
    second = nato[1]
    assert "We will not accept this" in _text(second)
    assert "We will not accept" not in "".join(re.findall(r'<mark class="hl"[^>]*>(.*?)</mark>', second, re.S))


def test_one_paragraph_a_line(page):
    paras = _paras(_sections(page)["040_lines.txt"])
    assert len(paras) == 1
    ctx = _text(re.search(r'<p class="ctx">(.*?)</p>', paras[0], re.S).group(1))
    assert ctx == "The federation answered in writing on Wednesday."


def test_jsonl_context_from_cleaned_record(page):
    secs = _sections(page)
    line4 = _text(secs["feeds/batch.jsonl, line 4"])
    assert "Officials, however, denied it." in line4  # the cleaned record's text, not the input's
    assert "Officials , however" not in line4.replace("Officials , → Officials,", "")
    gz = _text(secs["feeds/more.jsonl.gz, line 1"])
    assert "Short one. It was translated bad." in gz
    assert "could not be read" not in page.split("feeds/batch.jsonl")[1]


def test_edits_near_flags_are_placed_exactly(page):
    nato = _paras(_sections(page)["010_nato.txt"])

    def near(para: str) -> str:
        m = re.search(r'<div class="near">(.*?)</div>', para, re.S)
        return _text(m.group(1)) if m else ""

    assert "debris/copyright-credit" in near(nato[0])  # removed at the start of paragraph 1
    assert "punctuation/space-before-period" in near(nato[0])
    assert "misdirected-closing-quote" in near(nato[1])
    assert "misdirected-closing-quote" not in near(nato[0])
    assert "headline-list" in near(nato[2])
    assert "headline-list" not in near(nato[1])
    # the suggestion is a reason, not an automatic edit
    assert "literal-name" not in near(nato[0])
    # the fixed text is underlined where it landed, the removal marked
    assert '<span class="ed" title="edit b">Section 5.</span>' in nato[0]
    assert 'class="cut"' in nato[0]
    # every document lists all its edits, suggestions included
    alled = _sections(page)["010_nato.txt"].split("All edits in this document (5)")[1]
    assert "suggested, not applied" in alled


def test_whitespace_edits_are_visible(page):
    hostile = _sections(page)["020_hostile.txt"]
    assert 'nothing<span class="ws">␣</span><span class="ws">␣</span>else' in hostile


def test_missing_cleaned_document_and_paths_outside_out(tmp_path):
    fx.build_run(tmp_path)
    (tmp_path / "010_nato.txt").unlink()
    flags = tmp_path / "_normalize" / "flags.jsonl"
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("TOP SECRET CONTENT\n", encoding="utf-8")
    evil = {"file": "../secret.txt", "start": 0, "end": 3, "text": "TOP", "confidence": 0.5,
            "reasons": [{"code": "x", "message": "m", "suggestion": None}]}
    flags.write_text(flags.read_text(encoding="utf-8") + json.dumps(evil) + "\n", encoding="utf-8")
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "The cleaned document could not be read" in _sections(page)["010_nato.txt"]
    assert "The mood was lazy." in _text(_sections(page)["010_nato.txt"])
    assert "TOP SECRET CONTENT" not in page
    assert page.count('<article class="flag') == 13


# -- empty runs, real runs, big runs ---------------------------------------------------------
def test_the_report_holds_only_the_documents_it_shows(tmp_path):
    """A run can have millions of documents: the page's loader keeps those it renders (with
    flags up to the caps, or with edits only), and counts the rest as it reads them."""
    from normalize.report import _load

    fx.build_big(tmp_path, docs=400, flags_per_doc=3)
    run = _load(tmp_path, max_flags=25, max_flags_per_doc=2)
    assert len(run.docs) == 13  # 12 documents with 2 flags shown, 1 with the 25th
    assert [len(d.flags) for d in run.docs.values()] == [2] * 12 + [1]
    assert (run.flags_total, run.flagged_docs, run.docs_total) == (1200, 400, 400)


def test_empty_state(tmp_path):
    fx.build_run(tmp_path, hostile_name=False)
    fx.drop_flags(tmp_path)
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "No flags in this run" in page
    assert '<article class="flag' not in page
    assert 'id="f-reason" disabled' in page


def test_report_of_a_real_run(tmp_path):
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    root = Path(__file__).resolve().parent.parent
    result = run(root / "corpus_in", tmp_path / "out", RunOptions(rules=RuleSet.load(None), jobs=1, quiet=True))
    s = result.summary
    page = write_report(tmp_path / "out").read_text(encoding="utf-8")
    data = _data(page)
    assert data["flagsTotal"] == s["flags"]["total"]
    assert page.count('<article class="flag') == s["flags"]["total"]
    assert ("No flags in this run" in page) == (s["flags"]["total"] == 0)
    cards = dict(re.findall(r'data-count="([^"]+)">(\d+)<', page))
    assert int(cards["edits"]) == s["edits"]["total"]
    assert int(cards["documents"]) == s["documents"]["written"]


def test_deterministic_and_atomic(run_dir, page):
    again = write_report(run_dir).read_bytes()
    assert again == page.encode("utf-8")
    leftovers = [p.name for p in (run_dir / "_normalize").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_missing_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path)


def test_caps_are_announced(tmp_path):
    fx.build_big(tmp_path, docs=3, flags_per_doc=30)
    page = write_report(tmp_path, max_flags=50, max_flags_per_doc=20).read_text(encoding="utf-8")
    assert page.count('<article class="flag') == 50
    assert "This page shows 50 of 90 flags" in page
    assert "Showing 20 of 30 flags of this document." in page
    data = _data(page)
    assert data["flagsTotal"] == 90 and data["flagsShown"] == 50


def test_big_run_stays_lean_and_fast(tmp_path):
    fx.build_big(tmp_path, docs=300, flags_per_doc=30)  # 9,000 flags
    t0 = time.perf_counter()
    path = write_report(tmp_path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 20, elapsed  # about half a second here
    assert path.stat().st_size < 8_000_000
    page = path.read_text(encoding="utf-8")
    assert "This page shows 5000 of 9000 flags" in page


# -- the run's own counts ---------------------------------------------------------------------
@pytest.mark.parametrize("corpus", ["corpus_in", "tests/data/review/corpus"])
def test_the_page_is_the_same_from_the_runs_counts(tmp_path, corpus, monkeypatch):
    """`normalize run` hands the report the flag counts it made as it wrote flags.jsonl, so the
    report reads flags.jsonl only as far as the flags it shows (and searches it for the first
    message of each other reason). The page is byte for byte the one made by counting every flag,
    whatever the caps. Made again later (`python -m normalize.report`), the report takes the
    counts of summary.json while the run's record index says flags.jsonl is the one they count."""
    from click.testing import CliRunner

    import normalize.report as report_mod
    from normalize.cli import main
    from normalize.report import counted_by_the_run, render_report

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(root / corpus), str(out), "-q", "-j", "1"])
    assert res.exit_code in (0, 1), res.output
    known = json.loads((out / "_normalize" / "summary.json").read_text(encoding="utf-8"))["flags"]
    assert known["total"] > 3 and counted_by_the_run(out) == known

    def counting(**caps) -> str:  # every flag read and counted
        with monkeypatch.context() as m:
            m.setattr(report_mod, "counted_by_the_run", lambda out_dir: None)
            return render_report(out, **caps)

    assert (out / "_normalize" / "report.html").read_text(encoding="utf-8") == counting() == render_report(out)
    for caps in [(5000, 500), (3, 500), (10, 2), (1, 1), (known["total"], 500), (known["total"] - 1, 500), (0, 500), (5, 0)]:
        counted = counting(max_flags=caps[0], max_flags_per_doc=caps[1])
        assert render_report(out, max_flags=caps[0], max_flags_per_doc=caps[1], known=known) == counted, caps
        assert render_report(out, max_flags=caps[0], max_flags_per_doc=caps[1]) == counted, caps
    # flags.jsonl is not the file summary.json counts (another run's, or changed): count it
    flags = out / "_normalize" / "flags.jsonl"
    flags.write_bytes(flags.read_bytes().split(b"\n", 1)[1])
    assert counted_by_the_run(out) is None and render_report(out) == counting()
