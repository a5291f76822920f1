"""Properties of the whole text pipeline, for any input (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import normalize

# Text that looks like scraped MT output: words, quotes, debris markers, line breaks, mojibake.
_PIECES = st.sampled_from([
    "NATO", "the", "Alliance", " ", "  ", "\n", "\n\n", "\r\n", ",", ".", " ,", " .", "“", "”", "\"",
    "’s", "(", ")", " -", "RT", "©", "• ", "  • ", "AFP", "Keep reading:", "Read also: ", "Photo: ",
    "D.His", "T he", " date 2021-12-01 ", "â€œ", "â€\x9d", "Ã©", "&amp;", "\u00a0", "\t", "Reader.",
    "Amateur alcohol specialist.", "Hardcore introvert.", "U.S. Army", "A ", "at left", "Source-www.x.com",
])
scraped = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=40).map("".join)
anything = st.text(max_size=300)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(text: str) -> None:
    res = normalize.clean(text)
    # replaying the audit trail on the input reproduces the output exactly
    assert normalize.replay(text, res.edits) == res.text
    for e in res.edits:
        assert 0 <= e.start <= e.end <= len(text)
        assert text[e.start : e.end] == e.before
    for f in res.flags:
        assert 0 <= f.start <= f.end <= len(res.text)
        assert res.text[f.start : f.end] == f.text
        assert 0.0 <= f.confidence <= 1.0
    # running the tool on its own output changes nothing
    again = normalize.clean(res.text)
    assert again.text == res.text, [(e.rule, e.before, e.after) for e in again.edits]


@SETTINGS
@given(scraped)
# a prefix repeated more times than the pipeline has rounds: removed in one round, so that the
# agency credit it hid is removed by the next round, not by a second run (found by hypothesis)
@example(" date 2021-12-01  date 2021-12-01  date 2021-12-01 NATO")
def test_scraped_like_text(text):
    _check(text)


@SETTINGS
@given(anything)
def test_arbitrary_unicode(text):
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_deterministic(text):
    assert normalize.clean(text).edits == normalize.clean(text).edits


# The pipeline does not run a pass again on a text that pass left as it was: sound because a
# pass is a pure function of the text, which this checks (every pass, twice on the same text:
# the same edits, notes and metadata, and a fresh context each time).
@SETTINGS
@given(st.one_of(scraped, anything))
def test_passes_are_pure(text):
    from normalize.passes.base import DocContext

    n = _normalizer()
    for p in n.passes:
        first, second = p.run(text, DocContext()), p.run(text, DocContext())
        assert (first.edits, first.notes, first.metadata) == (second.edits, second.notes, second.metadata), p.name


def _normalizer():
    from normalize.pipeline import Normalizer

    global _NORMALIZER
    if _NORMALIZER is None:
        _NORMALIZER = Normalizer(flagger=False)
    return _NORMALIZER


_NORMALIZER = None


def test_a_pass_is_not_run_again_on_a_text_it_left_alone():
    """Each pass runs once on a text none of them changes; after a change, only on new text."""
    from normalize.pipeline import Normalizer

    n = Normalizer(flagger=False)
    runs: list[tuple[str, str]] = []
    for p in n.passes:
        def spy(text, ctx, _run=p.run, _name=p.name):
            runs.append((_name, text))
            return _run(text, ctx)
        p.run = spy
    n.clean("NATO ,  the Alliance met.")
    assert len(runs) == len(set(runs))  # no pass saw the same text twice
    runs.clear()
    n.clean("A calm sentence.")
    assert [name for name, _ in runs] == [p.name for p in n.passes]


# The `requires` strings of a punctuation rule are a gate in front of its pattern: a text that
# holds none of them is never searched. The gate must never hide a match.
_PUNCT_PIECES = st.sampled_from([
    "a", "Word", "7", "%", " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u2002", "\u200b", "\u3000",
    ",", ".", ";", ":", "!", "?", "…", "(", ")", "[", "]", "“", "”", "‘", "’", "'", '"', "s", "’s",
])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PUNCT_PIECES, max_size=12).map("".join))
def test_punctuation_gates_never_hide_a_match(text):
    from normalize.passes.punctuation import PunctuationPass
    from normalize.rules import RuleSet

    rules = _punctuation_rules(PunctuationPass, RuleSet)
    gated = [r for r in rules if r.requires]
    assert gated, "the shipped punctuation rules declare `requires`"
    for rule in gated:
        if rule.pattern.search(text):
            assert rule.may_match(text), (rule.id, text)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PUNCT_PIECES, max_size=12).map("".join))
def test_one_gate_for_all_rules_agrees_with_each_rule(text):
    """The pass asks RequiresGate (one Aho-Corasick pass) which rules may match; it must name
    exactly the rules whose own may_match is true, in their order."""
    from normalize.passes.base import RequiresGate
    from normalize.passes.punctuation import PunctuationPass
    from normalize.rules import RuleSet

    rules = _punctuation_rules(PunctuationPass, RuleSet)
    assert RequiresGate(rules).rules_for(text) == [r for r in rules if r.may_match(text)]


def test_punctuation_gates_exhaustively_on_short_texts():
    """Every text of up to four characters over the characters the rules care about."""
    from itertools import product

    from normalize.passes.punctuation import PunctuationPass
    from normalize.rules import RuleSet

    alphabet = ["a", "s", " ", "\t", "\n", "\r", "\u00a0", "\u2002", ".", ",", "?", "(", ")", "]",
                "“", "”", "’", '"']
    gated = [r for r in _punctuation_rules(PunctuationPass, RuleSet) if r.requires]
    for n in range(1, 5):
        for chars in product(alphabet, repeat=n):
            text = "".join(chars)
            for rule in gated:
                if not rule.may_match(text) and rule.pattern.search(text):
                    raise AssertionError(f"rule {rule.id!r}: gate hides the match in {text!r}")


_CACHE: dict[str, list] = {}


def _punctuation_rules(pass_cls, ruleset_cls) -> list:
    if "p" not in _CACHE:
        _CACHE["p"] = pass_cls(ruleset_cls.load()).patterns
    return _CACHE["p"]


# The bio check strips a line with str methods instead of the regex it replaced (a lazy
# ``.*?`` before a trailing class cost a fullmatch per paragraph): the two must agree.
_OLD_BIO_LINE = __import__("regex").compile(r"[\s.,;:“”\"'«»„-]*(?P<body>.*?)[\s“”\"'«»]*")
_BIO_EDGES = st.sampled_from(list(" \t\x0b\x0c\r\x1c\x1f\x85\xa0\u2028\u3000\u200b.,;:“”\"'«»„-!?a"))


def test_bio_spaces_are_exactly_regex_whitespace():
    import regex

    from normalize.passes.debris import _SPACES

    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    assert set(_SPACES) == set(regex.findall(r"\s", everything))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_BIO_EDGES, st.text(max_size=3).filter(lambda t: "\n" not in t)), max_size=12)
       .map("".join))
def test_bio_body_equals_the_regex_it_replaced(line):
    from normalize.passes.debris import bio_body

    assert bio_body(line) == _OLD_BIO_LINE.fullmatch(line).group("body")


# The debris line rules are tried at line starts, each only on the documents that hold what every
# match of it holds (PatternGate). That must give exactly what each rule's own finditer gives,
# rule by rule.
_DEBRIS_PIECES = st.sampled_from([
    "\n", "\n", "\r\n", " ", "\t", "word", "The minister said", ".", ":", "/", "|", "-", "•",
    "©", "(c)", "Copyright", "Photo", "Photos", "Image", "Video", "by", "AFP", "Reuters", "AP Photo",
    "EPA", "Source", "https://x.org/a", "Keep reading", "Read more", "Follow us on", "Twitter",
    "Advertisement", "Sign up for our", "newsletter", "Tags:", "at left", "pictured", "File",
    "Ä", "ß", "İ", "\u00a0", "\u2028",
])


def _debris_pass():
    if "d" not in _CACHE:
        from normalize.passes.debris import DebrisPass
        from normalize.rules import RuleSet

        _CACHE["d"] = [DebrisPass(RuleSet.load())]
    return _CACHE["d"][0]


def _each_rule_alone(p, text):
    return [(r.id, m.span()) for r in p.r.lines for m in r.pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(_DEBRIS_PIECES, max_size=30).map("".join))
def test_debris_line_scan_equals_each_rule_alone(text):
    p = _debris_pass()
    assert [(r.id, m.span()) for r, m in p.line_matches(text)] == _each_rule_alone(p, text)


def test_debris_line_rules_at_line_starts_equal_each_rule_alone(tmp_path):
    """Rules of every shape (a backreference, DOTALL, an inline flag, a match that spans two
    lines, a rule whose match starts inside its own earlier match) give, tried at line starts,
    what each rule's own finditer gives; a rule whose gate the text fails has no match."""
    import shutil

    from normalize.passes.debris import DebrisPass
    from normalize.rules import RuleSet, default_rules_dir

    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    (root / "debris.yaml").write_text(
        "lines:\n"
        "  - id: doubled\n    pattern: '(\\w+) \\1'\n    examples: ['go go']\n"
        "  - id: credit\n    pattern: 'Photo: \\S+'\n    examples: ['Photo: AP']\n"
        "  - id: wide\n    pattern: 'Wide.*end'\n    flags: s\n    examples: ['Wide end']\n"
        "  - id: inline\n    pattern: '(?i)shout'\n    examples: ['SHOUT']\n"
        "  - id: ad\n    pattern: 'Advertisement'\n    examples: ['Advertisement']\n"
        "  - id: advert\n    pattern: 'Advert\\w+'\n    examples: ['Advertising']\n"
        "  - id: two-lines\n    pattern: 'Start\\n\\w+'\n    examples: [\"Start\\nhere\"]\n",
        encoding="utf-8")
    p = DebrisPass(RuleSet.load(root))
    text = "Photo: AP\ngo go\nWide\nstill\nend\nPhoto: x\nshout\nAdvertisement\nStart\nAdvertisement\nStart\nStart\nend"
    got = [(r.id, m.span()) for r, m in p.line_matches(text)]
    assert got == _each_rule_alone(p, text)
    assert [rid for rid, _ in got] == ["doubled", "credit", "credit", "wide", "inline", "ad", "ad",
                                      "advert", "advert", "two-lines", "two-lines"]
    assert p.line_matches("nothing here\nat all") == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@SETTINGS
@given(_JSON)
def test_a_record_line_is_what_json_dumps_writes(obj):
    """The runner writes its lines through one shared encoder (``json.dumps`` with an argument
    makes a new one on every call): the text is ``json.dumps(obj, ensure_ascii=False)``'s,
    NaN and infinities, lone surrogates and line separators included."""
    import json

    from normalize.io import dumps_record

    assert dumps_record(obj) == json.dumps(obj, ensure_ascii=False)


_CELL = st.one_of(st.text(alphabet=st.sampled_from(["a", "é", " ", ",", '"', "'", "\r", "\n", ";", "=", "+",
                                                      "-", "@", "\t", "“", "\\", "\x00", "\u2028", "😀"]), max_size=8),
                  st.text(max_size=6))
_REASON = st.builds(normalize.Reason, _CELL, _CELL, st.one_of(st.none(), _CELL))
_CONFIDENCE = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.56215, 1e-05, 0.12345678, -0.0]),
                        st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 2))


@settings(max_examples=500, deadline=None)
@given(st.builds(normalize.Flag, st.integers(0, 10**6), st.integers(0, 10**12), _CELL, _CONFIDENCE,
                 st.lists(_REASON, max_size=4)),
       _CELL, st.one_of(st.none(), st.integers(0, 10**6)))
@example(normalize.Flag(0, 5, "=1+2", 0.5, [normalize.Reason("oov", "a, \"b\"", "")]), "-x.txt", None)
def test_a_flags_lines_are_its_json_and_its_csv_row(flag, file, line):
    """The runner writes a flag's line of flags.jsonl and its row of flags.csv directly, without
    making its dictionary: the same text as ``json.dumps`` (the shared encoder) of
    ``Flag.to_json`` and as ``csv.writer`` of ``flag_csv_row`` (spreadsheet formulas
    neutralised, minimal quoting), for any text, numbers that are not finite included."""
    import csv
    import io

    from normalize.io import dumps_record
    from normalize.runner import flag_csv_row, flag_lines

    d = flag.to_json(file, line)
    buf = io.StringIO()
    csv.writer(buf).writerow(flag_csv_row(d))
    assert flag_lines(flag, file, line) == (dumps_record(d) + "\n", buf.getvalue())
