"""Hostile text through the pipeline and the readers (hypothesis), and a short fuzz run at volume.

tests/test_properties.py checks replay, offsets, idempotence and determinism on scraped-looking
text and on arbitrary Unicode. This file adds the character classes a hostile corpus is made of
(controls, bidi overrides, zero-width and combining marks, NUL next to text, very long words,
HTML entities for impossible code points, mojibake), the byte-level readers (decoding, JSONL
lines, CSV cells), and a fuzz run: a few thousand derandomized examples (same examples every run,
so CI is repeatable), well under a minute. FUZZ_EXAMPLES=N in the environment runs more.
"""

from __future__ import annotations

import csv
import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalize import replay
from normalize.io import InputError, decode_bytes, parse_jsonl_line
from normalize.pipeline import Normalizer
from normalize.runner import csv_safe

NO_FLAGGER = Normalizer(flagger=False)
WITH_FLAGGER = Normalizer()

HOSTILE = [
    # C0 and C1 controls, DEL, and the invisible format characters
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1b[31m", "\x1f", "\x7f", "\x80", "\x85", "\x9d",
    "\xa0", "\xad", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\ufffd", "\ufffe",
    # bidirectional overrides and isolates
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    # line breaks of every kind
    "\r", "\n", "\r\n", "\n\r", "\u2028", "\u2029", "\t",
    # combining marks, alone and stacked
    "\u0301", "\u0308\u0308\u0308", "\u20dd", "\u0489", "e\u0301", "Z\u0351\u0352\u0357\u0358",
    # width, ligatures, case traps, emoji sequences, scripts written right to left
    "ﬁ", "ﬂ", "ﬃ", "Ａ", "１", "ｶ", "ß", "ẞ", "İ", "ı", "ǅ", "👨\u200d👩\u200d👧", "🇺🇦", "👍🏽", "\U0010ffff",
    "مرحبا", "שלום", "日本語", "한국어",
    # HTML entities, including impossible code points
    "&amp;", "&lt;script&gt;", "&#x202e;", "&#0;", "&#55296;", "&#xD800;", "&#x110000;", "&#1114111;", "&nbsp",
    # mojibake and markup
    "Ã©", "â€œ", "â€\x9d", "Ã¢â‚¬â„¢", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "+1", "@x",
    # the words and debris the passes look for
    "NATO", " ,", " .", "“", "”", "\"", "Keep reading:", "Photo: ", "© AFP", "D.His", "Andrej Doubt", "Section 5",
    " ", "  ", "\n\n",
]
piece = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=4))
hostile_text = st.lists(piece, max_size=50).map("".join)
long_words = st.lists(st.one_of(st.text(alphabet="abcdefghijklmnopqrstuvwxyzéß\u0301", min_size=200, max_size=3000),
                                st.sampled_from([" ", "\n", ". ", " , ", "\u202e", "\x00"])), max_size=6).map("".join)
nul_adjacent = st.lists(st.sampled_from(["\x00", "NATO", " ,", "word", "\x00\x00", "“", "\n"]), max_size=30).map("".join)

FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(n: Normalizer, text: str) -> None:
    """What must hold for any text: no exception, the audit trail replays, offsets point at
    what they say, flags lie inside the output, and a second run changes nothing."""
    res = n.clean(text)
    out = res.text
    assert replay(text, res.edits) == out, "the edits do not replay to the output"
    for e in res.edits:
        assert 0 <= e.start <= e.end <= len(text) and text[e.start : e.end] == e.before
    for f in res.flags:
        assert 0 <= f.start <= f.end <= len(out) and out[f.start : f.end] == f.text
        assert 0.0 <= f.confidence <= 1.0 and f.reasons
    out.encode("utf-8")  # writable: no lone surrogate came out of an entity
    again = n.clean(out)
    assert again.text == out, [(e.rule, e.before, e.after) for e in again.edits]


@FAST
@given(hostile_text)
def test_hostile_characters_with_the_flagger(text):
    check(WITH_FLAGGER, text)


@settings(FAST, max_examples=40)
@given(long_words)
def test_very_long_words(text):
    check(WITH_FLAGGER, text)


@FAST
@given(nul_adjacent)
def test_nul_next_to_text(text):
    check(NO_FLAGGER, text)


@settings(FAST, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2500")))
@given(st.one_of(hostile_text, st.text(max_size=200), st.text(alphabet=st.characters(codec="utf-8"), max_size=120)))
def test_fuzz_the_text_pipeline(text):
    """The fuzz run: thousands of hostile and arbitrary texts through every pass (the flagger only
    reads the result; it is exercised above)."""
    check(NO_FLAGGER, text)


# -- the readers -----------------------------------------------------------------------------
@settings(FAST, max_examples=500)
@given(st.one_of(st.binary(max_size=400), hostile_text.map(lambda s: s.encode("utf-8")),
                 hostile_text.map(lambda s: s.encode("utf-16")), hostile_text.map(lambda s: s.encode("utf-16-le"))))
def test_decoding_any_bytes_gives_text_or_an_input_error(data):
    try:
        decoded = decode_bytes(data)
    except InputError:
        return
    assert "\x00" not in decoded.text
    decoded.text.encode("utf-8")


@settings(FAST, max_examples=300)
@given(st.text(max_size=300).filter(lambda s: "\x00" not in s))
def test_utf8_text_decodes_to_itself(text):
    try:
        decoded = decode_bytes(text.encode("utf-8"))
    except InputError:  # only for text that is mostly control characters
        assert sum((c < " " and c not in "\t\n\r\x0c\x0b\x1b") or c == "\x7f" for c in text) >= 16
        return
    assert decoded.text == text.removeprefix("\ufeff") or decoded.encoding in ("utf-16-le", "utf-16-be")


@settings(FAST, max_examples=500)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=5))
def test_any_jsonl_line_is_a_record_an_error_or_blank(raw, n):
    rec = parse_jsonl_line(n, raw, "text")
    if rec is None:
        assert not raw.decode("utf-8").strip()
        return
    assert rec.line == n
    assert (rec.text is None) != (rec.error is None)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
                         st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


@settings(FAST, max_examples=400)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.text(max_size=60), st.text(max_size=60),
       st.booleans(), st.sampled_from([(", ", ": "), (",", ":"), (" ,  ", " :\t")]), st.sampled_from(["\n", "\r\n", ""]))
def test_a_jsonl_record_keeps_every_byte_but_its_text(obj, text, new, ascii_only, seps, end):
    obj = {**obj, "text": text}
    raw = json.dumps(obj, ensure_ascii=ascii_only, separators=seps)
    rec = parse_jsonl_line(1, (raw + end).encode("utf-8"), "text")
    assert rec is not None and rec.error is None and rec.text == text
    assert rec.with_text(text) == raw + end, "an unchanged record is written back byte for byte"
    out = rec.with_text(new)
    assert out.endswith(end) and json.loads(out) == {**json.loads(raw), "text": new}
    before, after = raw[: rec.span[0]], raw[rec.span[1] :]
    assert out.startswith(before) and out.removesuffix(end).endswith(after)


@settings(FAST, max_examples=500)
@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(["=1+1", "+cmd", "-2", "@SUM(1)", "\tx", "\rx",
                                                                  "=HYPERLINK(\"http://e\")"])), min_size=1, max_size=6))
def test_csv_cells_never_start_like_a_formula(cells):
    buf = io.StringIO()
    csv.writer(buf).writerow([csv_safe(c) for c in cells])
    row = next(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert len(row) == len(cells)
    for got, original in zip(row, cells, strict=True):
        assert not got.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert got in (original, "'" + original)
