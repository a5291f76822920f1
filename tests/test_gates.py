"""The speed gates never hide a match.

Several passes skip work with a cheap test in front of an expensive one:

- :class:`normalize.passes.base.PatternGate` runs a curator's pattern only on documents that
  hold one of the strings :func:`normalize.literals.required` reads off it (every match holds
  one of them);
- the debris pass tries a line rule only at the line starts that begin with one of the strings
  :func:`normalize.literals.prefixes` reads off it (every match begins with one of them);
- the encoding pass calls ftfy only on the lines :func:`normalize.passes.encoding.untouched`
  cannot rule out, and its :func:`~normalize.passes.encoding.is_bad` searches ftfy's mojibake
  pattern only around the characters every match of it holds (``_MOJIBAKE``), in windows of
  ``_WIDTH`` characters;
- the gazetteer pass looks for "Phrase (ACR)" only behind the stdlib scan's hints, each phrase
  bounded by the last character before its hint that no phrase holds;
- the debris pass reads a line fragment by fragment as an author bio only when its first
  fragment may be short enough: ``CharSet.least_runs`` of the ASCII word characters there is at
  most the words its regex finds (and exactly them in ASCII text); those lines are picked in one
  kernel pass (``bio_lines``), which keeps exactly the lines the per-line checks keep, and drop
  caps are looked for only on the lines one stdlib scan finds (``LineHeads``).

A gate that is too strict does not crash or warn: it silently skips a match, and the output
quietly keeps a credit line or a piece of mojibake. So each claim the gates rest on is tested
here directly, on small hand-written patterns whose answer is known, and as a property over the
shipped rules (rules/debris.yaml) and ftfy's own tables, on generated texts built from the
rules' own examples, noise, and the characters case folding and mojibake are made of. The
examples are derandomized (the same every run). The end-to-end tests of the debris line scan
and of the punctuation ``requires:`` gates live in tests/test_properties.py and are not
repeated here.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import cache

import ftfy
import pytest
import regex
import yaml
from ftfy import badness, chardata
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from normalize.literals import fold, prefixes, required
from normalize.passes import encoding
from normalize.passes.debris import DebrisPass
from normalize.rules import RuleSet, default_rules_dir

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]

I = regex.IGNORECASE  # noqa: E741 - reads like the flag it is

#: deterministic runs: the same examples every time, so a green property does not turn red
#: because of a lucky draw
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# -- the shipped debris rules ---------------------------------------------------------------------
@cache
def _debris() -> DebrisPass:
    return DebrisPass(RuleSet.load())


@cache
def _gate_patterns() -> dict[tuple[str, int], regex.Pattern[str]]:
    """The compiled ``regex`` pattern behind each key of the debris pass's gate, as
    ``DebrisPass.__init__`` builds the gate: the line rules (their full ``^(?:...)$`` form),
    the bullet, the trailer headers, the prefixes and the joins."""
    r = _debris().r
    out: dict[tuple[str, int], regex.Pattern[str]] = {}
    out.update({("line", i): x.pattern.regex for i, x in enumerate(r.lines)})
    if r.bullet is not None:
        out[("bullet", 0)] = r.bullet.regex
    out.update({("trailer", i): x["header"].regex for i, x in enumerate(r.trailers)})
    out.update({("prefix", i): x["pattern"].regex for i, x in enumerate(r.prefixes)})
    out.update({("join", i): x["pattern"].regex for i, x in enumerate(r.joins)})
    return out


def _strings(value: object) -> list[str]:
    """The strings of an ``examples`` entry: a string, or an [input, expected] pair."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@cache
def _examples() -> tuple[str, ...]:
    """Every positive example string of rules/debris.yaml (inputs and expected outputs)."""
    data = yaml.safe_load((default_rules_dir() / "debris.yaml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "examples":
                    found.extend(_strings(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return tuple(dict.fromkeys(found))


_NOISE = ["\n", "\n", "\r\n", " ", "  ", "\t", "word", "Photo", "©", "İ", "ı", "ſ", "\u212a", "\u00a0", ":",
          "/", "(", ")", "•", "-", ".", "AP", "Reuters", "https://x.org/a", "  • ", "2021-12-01", "\u2028"]
# what the regex module's IGNORECASE matches to an ASCII letter: lowercase, uppercase, and the
# characters fold() maps (İ for i, ſ for s, the Kelvin sign for k)
_DISGUISES = [str, str.upper, str.lower, str.swapcase,
              lambda s: s.replace("s", "ſ").replace("S", "ſ"),
              lambda s: s.replace("k", "\u212a").replace("K", "\u212a"),
              lambda s: s.replace("i", "İ").replace("I", "İ")]


def _fragment(args: tuple[str, int, int]) -> str:
    text, a, b = args
    return text[min(a, b) : max(a, b)]


@st.composite
def debris_texts(draw: st.DrawFn) -> str:
    """Documents made of the rules' own examples (whole, cut, in another case), line breaks,
    spaces and the characters that case folding treats specially."""
    example = st.sampled_from(_examples())
    piece = st.one_of(
        example,
        st.builds(lambda f, s: f(s), st.sampled_from(_DISGUISES), example),
        st.tuples(example, st.integers(0, 80), st.integers(0, 80)).map(_fragment),
        st.sampled_from(_NOISE),
        st.text(max_size=3),
    )
    return "".join(draw(st.lists(piece, max_size=10)))


def _holds_one(strings: tuple[str, ...], ci: bool, matched: str) -> bool:
    hay = fold(matched) if ci else matched
    return any(s in hay for s in strings)


# -- 1. required strings ---------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "flags", "expected"), [
    pytest.param("Photo", 0, (("Photo",), False), id="a literal requires itself"),
    pytest.param("ab", 0, (("ab",), False), id="consecutive literals require the string they spell"),
    pytest.param("[ab]", 0, (("a", "b"), False), id="a small class requires one of its characters"),
    pytest.param("(?:©|Copyright)", 0, (("Copyright", "©"), False), id="alternatives require the union"),
    pytest.param("x{0,3}y", 0, (("y",), False), id="a repetition that may be absent requires nothing"),
    pytest.param("a+", 0, (("a",), False), id="a repetition at least once requires its body"),
    pytest.param("(?:foo)?bar", 0, (("bar",), False), id="an optional group requires nothing"),
    pytest.param("(?<=x)y(?=z)", 0, (("y",), False), id="lookarounds require nothing"),
    pytest.param(r"\bAP\b", 0, (("AP",), False), id="anchors require nothing"),
    pytest.param("a[ \t]+Reuters", 0, (("Reuters",), False), id="a sequence: its most selective part"),
    pytest.param("AP Photo|AP", 0, (("AP",), False), id="a string holding another adds nothing"),
    pytest.param("(?:Photo|Image)[ \t]*:", 0, (("Image", "Photo"), False), id="a group, what its contents require"),
    pytest.param("Photo", I, (("photo",), True), id="case-insensitive: lowercase strings"),
])
def test_required_strings_of_small_patterns(pattern, flags, expected):
    """What each kind of pattern part requires, on patterns small enough to check by eye."""
    assert required(pattern, flags) == expected


@pytest.mark.parametrize(("pattern", "flags"), [
    pytest.param("x{0,3}", 0, id="a part that may be absent, alone"),
    pytest.param("(?=abc)", 0, id="a lookahead alone"),
    pytest.param(r"^\b$", 0, id="anchors alone"),
    pytest.param(r"(\w)\1", 0, id="a backreference"),
    pytest.param(r"\w+", 0, id="a category"),
    pytest.param(".+", 0, id="any character"),
    pytest.param("[a-z0-9]", 0, id="a class too large to be selective"),
    pytest.param("(?i)shout", 0, id="an inline flag"),
    pytest.param("Ä", I, id="case-insensitive non-ASCII"),
])
def test_required_gives_none_when_nothing_can_be_read(pattern, flags):
    """A pattern that requires nothing readable gets None, so its gate lets every text
    through, rather than a string some match might lack."""
    assert required(pattern, flags) is None


def test_the_gate_reads_every_debris_pattern_as_the_pass_compiles_it():
    """The gate's keys are exactly the patterns the pass runs (so the property below covers
    them all), and each key's strings are :func:`required` of that pattern and its flags."""
    gate = _debris().gate
    patterns = _gate_patterns()
    assert set(patterns) == set(gate.requires) | gate.always
    assert gate.requires, "the shipped debris rules have readable required strings"
    for key, pat in patterns.items():
        assert gate.requires.get(key) == required(pat.pattern, pat.flags), key


@settings(max_examples=300, **SETTINGS)
@given(debris_texts())
def test_every_match_of_a_debris_pattern_holds_a_required_string(text):
    """For every pattern behind the debris gate, every match (overlapped: one from each
    position, in the whole text and in each line as its own string, the way the trailers and
    bullets are matched) holds one of the pattern's required strings (case-insensitive: in
    the folded match), and the gate lets that text through for that pattern."""
    gate = _debris().gate
    lines = text.split("\n")
    keys = gate.keys_for(text)
    for key, pat in _gate_patterns().items():
        if key in gate.always:
            assert key in keys
            continue
        strings, ci = gate.requires[key]
        for m in pat.finditer(text, overlapped=True):
            assert _holds_one(strings, ci, m.group()), (key, pat.pattern[:80], m.group())
            assert key in keys, (key, text)
        for line in lines:
            for m in pat.finditer(line, overlapped=True):
                assert _holds_one(strings, ci, m.group()), (key, pat.pattern[:80], m.group())
                assert key in gate.keys_for(line), (key, line)


def test_each_rules_own_examples_pass_its_gate():
    """Each rule's positive examples, where the rule's pattern matches them, pass the gate
    for that rule; and every gated rule has at least one such example, so none is unchecked."""
    p = _debris()
    r = p.r
    owners = {
        **{("lines", x.id): ("line", i) for i, x in enumerate(r.lines)},
        ("bullet_credits", "bullet-credits"): ("bullet", 0),
        **{("trailers", x["id"]): ("trailer", i) for i, x in enumerate(r.trailers)},
        **{("prefixes", x["id"]): ("prefix", i) for i, x in enumerate(r.prefixes)},
        **{("joins", x["id"]): ("join", i) for i, x in enumerate(r.joins)},
    }
    patterns = _gate_patterns()
    checked: set[tuple[str, int]] = set()
    for section, _line, rid, ex, positive in r.examples:
        key = owners.get((section, rid))
        if key is None or not positive:
            continue
        for text in _strings(ex)[:1]:  # the input, not the expected output
            if patterns[key].search(text):
                assert key in p.gate.keys_for(text), (rid, text)
                checked.add(key)
    assert checked == set(patterns), set(patterns) - checked


# -- 2. prefixes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "flags", "expected"), [
    pytest.param(r"Photo: \S+", 0, (("Phot",), False, False), id="the first k characters"),
    pytest.param("(?:Photo|Image): ", 0, (("Imag", "Phot"), False, False), id="alternatives"),
    pytest.param("AP|AFP", 0, (("AFP", "AP"), False, False), id="a string shorter than k is a whole match"),
    pytest.param("(?:AP|AFP)[ \t]*/", 0,
                 (("AFP\t", "AFP ", "AFP/", "AP\t\t", "AP\t ", "AP\t/", "AP \t", "AP  ", "AP /", "AP/"), False, False),
                 id="a repetition after a literal is spelled out to k"),
    pytest.param("[ \t]*Source", 0, (("Sour",), False, True), id="leading blanks: after_blanks"),
    pytest.param(r"^(?:[ \t]*AP)$", regex.MULTILINE, (("AP",), False, True), id="anchors and a group are looked through"),
    pytest.param("Read more", I, (("read",), True, False), id="case-insensitive: lowercase"),
])
def test_prefixes_of_small_patterns(pattern, flags, expected):
    """What every match begins with (k=4), on patterns small enough to check by eye."""
    assert prefixes(pattern, flags) == expected


def test_prefixes_after_blanks_only_when_no_string_begins_with_a_blank():
    """``[ \\t]* x``: a match may begin inside the blanks with the space before ``x``, so the
    strings are read from the start of the match (after_blanks False), each of them a real
    beginning: blanks up to k, or blanks then ``x``."""
    got = prefixes("[ \t]* x", 0)
    assert got is not None
    strings, ci, after_blanks = got
    assert (ci, after_blanks) == (False, False)
    assert " x" in strings and "    " in strings and "\t x" in strings
    assert all(set(s) <= {" ", "\t", "x"} for s in strings)


@pytest.mark.parametrize(("pattern", "flags"), [
    pytest.param(r"\w+", 0, id="a category first"),
    pytest.param(".*", 0, id="any character first"),
    pytest.param("a?", 0, id="a match may be empty"),
    pytest.param("(?i)Photo", 0, id="an inline flag"),
    pytest.param("Ä", I, id="case-insensitive non-ASCII"),
])
def test_prefixes_give_none_for_open_patterns(pattern, flags):
    """A pattern whose matches may begin with anything gets None: tried at every line start."""
    assert prefixes(pattern, flags) is None


@cache
def _line_prefixes() -> tuple[tuple[tuple[str, ...], bool, bool], ...]:
    """:func:`prefixes` of each debris line rule (None fails the test below)."""
    out = []
    for x in _debris().r.lines:
        got = prefixes(x.pattern.regex.pattern, x.pattern.regex.flags)
        assert got is not None, x.id
        out.append(got)
    return tuple(out)


def test_every_debris_line_rule_has_known_prefixes():
    """The line scan's shortcut is in use for the shipped line rules (otherwise the property
    below would check nothing for them)."""
    p = _debris()
    for i, x in enumerate(p.r.lines):
        assert prefixes(x.pattern.regex.pattern, x.pattern.regex.flags) is not None, x.id
        assert p._starts[i].known, x.id


@settings(max_examples=300, **SETTINGS)
@given(debris_texts())
def test_every_line_start_match_of_a_line_rule_begins_with_a_prefix(text):
    """For every debris line rule and every match at a line start (position 0 or after
    "\\n"): the match (folded, when case-insensitive; after its leading spaces and tabs, when
    after_blanks) begins with one of the strings (which covers a string shorter than k that
    is the whole match), and the pass's lookup (``_Starts.at``) lets that line start through."""
    p = _debris()
    starts = [0, *(i + 1 for i, c in enumerate(text) if c == "\n")]
    folded = fold(text)
    for i, rule in enumerate(p.r.lines):
        pat = rule.pattern.regex
        strings, ci, blanks = _line_prefixes()[i]
        for at in starts:
            m = pat.match(text, at)
            if m is None:
                continue
            seen = fold(m.group()) if ci else m.group()
            if blanks:
                seen = seen.lstrip(" \t")
            assert any(seen.startswith(s) for s in strings), (rule.id, m.group(), strings[:8])
            assert p._starts[i].at(folded if ci else text, at), (rule.id, text, at)


# -- 3. the encoding gate --------------------------------------------------------------------------
#: the fixing config of the pass, without explanations (what fix_text wants)
_FIX = encoding._CONFIG._replace(explain=False)

_MOJI_PIECES = ["Ã©", "â€œ", "â€", "â€™", "Â", "Ã", "Ã ", "Â ", "é", "É", "Å", "“", "”", "—", "ï¿½", "Ð", "Ñ",
                "\u00a0", "ﬁ", "Ｆ", "&amp;", "\x1b[31m", "\x85", "e\u0301", "×²", "°", "╒", "вЂ",
                "The", "minister", "said", " ", "  ", ",", ".", "1", "\r", "\t"]
#: what a mojibake line is made of: short texts in many scripts, their UTF-8 read in each of the
#: single-byte encodings ftfy undoes
_ORIGINALS = "éüñőŞƏжЯΩαՏשع—“€™…中持😀\u00a0"


def _mojibake(original: str, enc: str) -> str:
    return original.encode("utf-8").decode(enc, errors="replace")


_mojibake_pieces = st.builds(
    _mojibake,
    st.text(alphabet=st.one_of(st.sampled_from(_ORIGINALS), st.characters(min_codepoint=0x80, exclude_categories=("Cs",))),
            min_size=1, max_size=3),
    st.sampled_from(chardata.CHARMAP_ENCODINGS),
)
lines = st.one_of(
    st.lists(st.one_of(st.sampled_from(_MOJI_PIECES), _mojibake_pieces, st.text(max_size=3)), max_size=12).map("".join),
    st.text(max_size=60),
).map(lambda s: s.replace("\n", " "))


def _expand_class(chars: str) -> frozenset[str]:
    """The characters of a character-class body such as ``À-Ñ`` (ranges expanded)."""
    out: set[str] = set()
    for op, av in _P.parse(f"[{chars}]")[0][1]:
        if op is _C.LITERAL:
            out.add(chr(av))
        else:
            assert op is _C.RANGE
            out.update(map(chr, range(av[0], av[1] + 1)))
    return frozenset(out)


def _part_chars(op, av) -> frozenset[str] | None:
    """The characters one single-character part of the parsed pattern matches (None: not a
    single character it must match, or any character)."""
    if op is _C.LITERAL:
        return frozenset(chr(av))
    if op is _C.IN:
        out: set[str] = set()
        for o, a in av:
            if o is _C.LITERAL:
                out.add(chr(a))
            elif o is _C.RANGE:
                out.update(map(chr, range(a[0], a[1] + 1)))
            else:  # NEGATE, CATEGORY: open-ended
                return None
        return frozenset(out)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1 and len(av[2]) == 1:
        return _part_chars(*av[2][0])
    return None


def _branches() -> list[list[tuple]]:
    parsed = list(_P.parse(badness.BADNESS_RE.pattern, badness.BADNESS_RE.flags))
    assert len(parsed) == 1 and parsed[0][0] is _C.BRANCH
    return [list(b) for b in parsed[0][1][1]]


#: every character ftfy's mojibake pattern names, ranges expanded, and some ASCII around them
_CATEGORY_CHARS = sorted(frozenset().union(*map(_expand_class, badness.MOJIBAKE_CATEGORIES.values()))
                         | {c for c in badness.BADNESS_RE.pattern if not c.isascii()})
_short_mojibake = st.text(alphabet=st.one_of(st.sampled_from(_CATEGORY_CHARS), st.sampled_from("aZ .,!?1\t")),
                          max_size=encoding._WIDTH)


def test_is_bad_window_keeps_the_caret_at_the_real_start():
    """``^[ÃÂ][ ]`` matches at the start of the line only: a window that begins later must
    not treat its own start as the line's."""
    assert encoding.is_bad("Ã x") and badness.is_bad("Ã x")
    far = "1" * (2 * encoding._WIDTH) + "Ã x"
    assert not badness.is_bad(far)
    assert not encoding.is_bad(far)


@settings(max_examples=500, **SETTINGS)
@given(lines)
def test_is_bad_never_reports_what_ftfy_does_not(line):
    """Every window is a slice of the line (``pos``/``endpos``, no lookahead in the pattern),
    so what :func:`is_bad` finds, ftfy's own ``is_bad`` finds too."""
    if encoding.is_bad(line):
        assert badness.is_bad(line)


def test_the_gate_lists_every_character_of_ftfys_categories():
    """``_MOJIBAKE`` holds every character ftfy's mojibake categories name, ranges expanded,
    and every non-ASCII character the pattern spells out (a regression: the ranges were once
    read as their two ends, so "éÉ" or a lone U+0085 went unsearched)."""
    assert frozenset(_CATEGORY_CHARS) <= encoding._MOJIBAKE


@settings(max_examples=500, **SETTINGS)
@given(lines)
def test_is_bad_equals_ftfy_is_bad(line):
    """:func:`is_bad` is ``ftfy.badness.is_bad``, on lines rich in mojibake and on arbitrary text."""
    assert encoding.is_bad(line) == badness.is_bad(line)


def test_is_bad_finds_a_lone_c1_control():
    """ftfy's first branch ``[\\x80-\\x9f]`` matches a lone C1 control such as U+0085, which
    is inside the range, not at its ends: the gate lists the whole range (a regression: it once
    listed only U+0080 and U+009F, the two ends as written)."""
    assert badness.is_bad("\x85")
    assert encoding.is_bad("\x85")


def test_is_bad_finds_an_accented_pair():
    """``[{lower_accented}...][{upper_accented}]`` matches "éÉ", both inside ranges of ftfy's
    categories (à-ñ and À-Ñ): the gate lists them."""
    assert badness.is_bad("éÉ")
    assert encoding.is_bad("éÉ")


@settings(max_examples=500, **SETTINGS)
@given(lines)
def test_untouched_lines_are_left_alone_by_ftfy(line):
    """A line :func:`untouched` lets past unrepaired is one ftfy (with the pass's config)
    leaves exactly as it is."""
    if encoding.untouched(line):
        assert ftfy.fix_text(line, _FIX) == line


def test_untouched_sees_cp437_mojibake_of_a_schwa():
    """"Ə" in UTF-8 (C6 8F) read as cp437 is "╞Å": ftfy undoes it, so the line is not untouched."""
    line = "word " + _mojibake("Ə", "cp437") + " word"
    assert line == "word ╞Å word"
    assert ftfy.fix_text(line, _FIX) == "word Ə word"
    assert not encoding.untouched(line)


def test_untouched_sees_macroman_mojibake_of_a_cjk_character():
    """"持" in UTF-8 (E6 8C 81) read as Mac Roman is "ÊåÅ": ftfy undoes it."""
    line = "word " + _mojibake("持", "macroman") + " word"
    assert line == "word ÊåÅ word"
    assert ftfy.fix_text(line, _FIX) == "word 持 word"
    assert not encoding.untouched(line)


def test_untouched_single_code_points_are_left_alone_by_ftfy():
    """Exhaustively, for every BMP code point but the surrogates (U+0000-U+FFFF): alone and
    between two letters, if :func:`untouched` says ftfy would change nothing, ftfy changes
    nothing. (One character cannot make a two-character mojibake match, so this checks the
    other half of the gate: _SPECIAL, the NFC check and the ASCII shortcut.)"""
    wrong = []
    for c in range(0x10000):
        if 0xD800 <= c < 0xE000:
            continue
        for line in (chr(c), "a" + chr(c) + "b"):
            if encoding.untouched(line) and ftfy.fix_text(line, _FIX) != line:
                wrong.append(line)
    assert not wrong, wrong[:20]
    assert encoding.untouched("a") and not encoding.untouched("&") and not encoding.untouched("e\u0301")
    assert unicodedata.is_normalized("NFC", "é") and encoding.untouched("é")


def test_every_branch_of_ftfys_mojibake_pattern_requires_a_gate_character():
    """Each top-level alternative of ``badness.BADNESS_RE`` (parsed with ``re._parser``) has a
    part that must match exactly one character, and every character that part can match is in
    ``_MOJIBAKE``: then every match of the branch holds a gate character. This is read off
    the parse tree directly rather than with :func:`normalize.literals.required`, because the
    pattern's classes have far more than ``MAX_CLASS`` characters, for which ``required``
    answers None (unverifiable) rather than the set; ranges are expanded, negations and
    categories count as any character, parts that may be absent are skipped. Sound: a branch
    passes only if the claim holds for it."""
    ungated = []
    for branch in _branches():
        parts = [x for x in (_part_chars(op, av) for op, av in branch) if x is not None]
        if not any(part <= encoding._MOJIBAKE for part in parts):
            missing = [sorted(part - encoding._MOJIBAKE)[:3] for part in parts]
            ungated.append((_P.SubPattern(_P.State(), branch).getwidth(), missing))
    assert not ungated, ungated


def test_the_branch_check_accepts_a_gated_branch():
    """The check above is not vacuous: the branch ``вЂ`` (two literals, both named in the
    pattern) passes it, and the first branch ``[\\x80-\\x9f]`` is a single class."""
    branches = _branches()
    literal = [b for b in branches if all(op is _C.LITERAL for op, _ in b) and
               "".join(chr(av) for _, av in b) == "вЂ"]
    assert len(literal) == 1
    assert all(_part_chars(op, av) <= encoding._MOJIBAKE for op, av in literal[0])
    assert _part_chars(*branches[0][0]) == frozenset(map(chr, range(0x80, 0xA0)))


@settings(max_examples=500, **SETTINGS)
@given(_short_mojibake)
def test_every_match_of_ftfys_mojibake_pattern_holds_a_gate_character(s):
    """The observable form of the claim: on strings of up to ``_WIDTH`` characters drawn from
    every character the pattern's categories name (ranges expanded) and some ASCII, every
    match found holds a character of ``_MOJIBAKE``."""
    for m in badness.BADNESS_RE.finditer(s):
        assert set(m.group()) & encoding._MOJIBAKE, (s, m.group())


@settings(max_examples=500, **SETTINGS)
@given(st.one_of(_short_mojibake, lines))
def test_no_match_of_ftfys_mojibake_pattern_is_longer_than_the_window(s):
    """``_WIDTH`` is at least the length of every match, from every position (the windows of
    :func:`is_bad` hold whole matches), and it is the pattern's own widest match."""
    pat = badness.BADNESS_RE
    assert _P.parse(pat.pattern, pat.flags).getwidth()[1] == encoding._WIDTH
    for start in range(len(s)):
        m = pat.match(s, start)
        if m is not None:
            assert len(m.group()) <= encoding._WIDTH, (s, m.group())


def test_the_encoding_tables_are_what_the_tests_assume():
    """The config the pass fixes with, and the mojibake alphabet this file draws from, hold
    what the tests above rely on: quotes kept, line breaks kept, ranges expanded."""
    assert encoding._CONFIG.uncurl_quotes is False and encoding._CONFIG.fix_line_breaks is False
    assert _FIX.explain is False and _FIX._replace(explain=True) == encoding._CONFIG
    assert "\x85" in _CATEGORY_CHARS and "É" in _CATEGORY_CHARS and "╒" in _CATEGORY_CHARS
    assert re.compile(badness.BADNESS_RE.pattern, badness.BADNESS_RE.flags).pattern == badness.BADNESS_RE.pattern


# -- the gazetteer's acronym scan -----------------------------------------------------------------
_ACRONYM_ALPHABET = st.sampled_from(
    ["North", "Atlantic", "Treaty", "Organization", "of", "the", "and", "Émile", "O’Neil", "Jean-Luc",
     "nato", "x", " ", "  ", "\t", "\n", ".", ",", "(", ")", "(NATO)", "(EU)", "(u)", "(ABCDEFGHI)",
     " (OSCE)", "’", "'", "-", "É", "3", "McD"])


@settings(max_examples=600, **SETTINGS)
@given(st.lists(_ACRONYM_ALPHABET, max_size=30).map("".join))
def test_the_acronym_scan_finds_what_the_pattern_finds(text):
    from normalize.passes import gazetteer

    got = [m.span() + m.span("phrase") + (m["acr"],) for m in gazetteer._acronym_matches(text)]
    want = [m.span() + m.span("phrase") + (m["acr"],) for m in gazetteer._ACRONYM.finditer(text)]
    assert got == want


def test_the_acronym_scan_reads_a_phrase_back_to_its_start():
    from normalize.passes import gazetteer

    text = "He said: North Atlantic Treaty Organization (NATO), and the EU (EU)."
    assert [(m["phrase"], m["acr"]) for m in gazetteer._acronym_matches(text)] == [
        ("North Atlantic Treaty Organization", "NATO"), ("EU", "EU")]



# -- the gazetteer's guards and context words -----------------------------------------------------
# A guard ("only where one of these words is near") is looked for with str.find over the text
# lowered once per document, not with a pattern compiled per guard; it must find what the
# pattern finds, in any window, for the letters that fold to ASCII without lowering to it too.
_GUARD_ALPHABET = st.sampled_from(
    ["NATO", "nato", "Nato", "F-16", "f-16", "allies", "Allies", "Secretary General", "Rutte", "Émile",
     "x", "3", "_", " ", "\n", ".", ",", "-", "’", "é", "\u0130", "\u017f", "\u212a", "ǅ", "\u0301",
     "Σ", "ς", "ß", "İstanbul", "ſecretary", "\u212aiev", "Kiev"])
_GUARD_WORDS = st.lists(st.sampled_from(
    ["NATO", "F-16", "allies", "Secretary General", "Kiev", "secretary", "É", "Émile", "ſ", "Σ",
     "x", "i", "s", "3", "-", " "]), min_size=1, max_size=4, unique=True).map(tuple)


@settings(max_examples=800, **SETTINGS)
@given(st.lists(_GUARD_ALPHABET, max_size=16).map("".join), _GUARD_WORDS, st.data())
def test_a_guard_is_found_where_its_pattern_finds_it(text, words, data):
    from normalize.passes import gazetteer

    s = data.draw(st.integers(0, len(text)))
    e = data.draw(st.integers(s, len(text)))
    folded = gazetteer._fold(gazetteer._lower(text))
    assert len(folded) == len(text)
    want = gazetteer._guard_pattern(words).search(text[s:e]) is not None
    assert gazetteer._holds_word(text, folded, words, s, e) is want, (text, words, s, e)



@pytest.mark.parametrize("text, words, found", [
    ("\u017fecretary General", ("secretary",), True),  # long s folds to s, lower() keeps it
    ("\u0130stanbul", ("istanbul",), True),  # dotted capital I folds to i, lower() makes two
    ("\u212aiev", ("Kiev",), True),  # Kelvin sign
    ("NATO's allies", ("nato",), True),
    ("NATOs", ("NATO",), False),
    ("x3NATO", ("NATO",), False),
    ("Émile", ("mile",), False),  # É is a letter
    ("e\u0301mile", ("mile",), True),  # a combining accent is neither letter nor digit
])
def test_a_guard_is_found_where_its_pattern_finds_it_for_folding_letters(text, words, found):
    from normalize.passes import gazetteer

    assert (gazetteer._guard_pattern(words).search(text) is not None) is found
    folded = gazetteer._fold(gazetteer._lower(text))
    assert gazetteer._holds_word(text, folded, words, 0, len(text)) is found



# -- the debris pass's author-bio scan ------------------------------------------------------------
# A line is read fragment by fragment only when its first fragment may be short enough: the
# ASCII word characters' least_runs in it are at most the words the pass's regex finds there.
_FRAGMENT_ALPHABET = st.sampled_from(
    ["Amateur", "alcohol", "specialist", "x", "3", "_", "-", "'", "’", "é", "Jūratė", "Жур", "a-b", "don't",
     " ", "  ", "\u00a0", "\u2009", "\t", ",", ";", "“", "”", "—", "(", ")", "😀", "ǅ", "\u0301"])


@settings(max_examples=600, **SETTINGS)
@given(st.lists(_FRAGMENT_ALPHABET, max_size=20).map("".join))
def test_a_fragments_least_runs_never_exceed_its_words(text):
    from normalize import kernel
    from normalize.passes import debris

    words = len(debris._WORD.findall(text))
    for k in {kernel.CharSet, type(debris._ASCII_WORD)}:
        got = k(debris._ASCII_WORD.chars).least_runs(text)
        assert got <= words, (k, text)
        if text.isascii():
            assert got == words, (k, text)


def test_a_bio_with_non_ascii_words_is_still_found_and_a_long_first_fragment_is_not():
    from normalize.model import Edit

    p = DebrisPass(RuleSet.load())
    bio = "Jūratė’s “amateur” fan. Reader. Coffee specialist. Music junkie."
    text = f"The talks ended.\n{bio}\n"
    got = p.run(text, None).edits
    assert got and all(isinstance(e, Edit) for e in got)
    assert [text[e.start : e.end].strip() for e in got] == [bio]
    long = "Jūratė’s friends and neighbours met in Vilnius on Friday. Reader. Coffee specialist. Music junkie."
    assert p.run(f"The talks ended.\n{long}\n", None).edits == []


# The lines that may be bios are picked in the kernel (bio_lines), in one pass over the text:
# exactly the lines the pass's per-line checks would keep, in both kernels.
_BIO_ALPHABET = st.sampled_from(
    ["Amateur", "fan", "Reader", "x", "3", "é", "Жур", "a-b", " ", "  ", "\u00a0", "\t", ".", ". ", "!", "?", "...",
     ",", "“", "”", "«", "-", ":", "\n", "\n", "\r\n", "\r", "\u2028", "😀"])


@settings(max_examples=600, **SETTINGS)
@given(st.lists(_BIO_ALPHABET, max_size=40).map("".join), st.integers(1, 4), st.integers(0, 4))
@example("Jūratė’s “amateur” fan. Reader. Coffee specialist. Music junkie.\r\n. . .x\n", 3, 5)
def test_the_bio_line_scan_keeps_the_lines_the_line_checks_keep(text, min_enders, max_words):
    from normalize import kernel
    from normalize.passes import debris
    from normalize.passes.base import iter_lines

    want: list[int] = []
    for s, e, line in iter_lines(text):
        if "." not in line or line.count(".") + line.count("!") + line.count("?") < min_enders:
            continue
        body = debris.bio_body(line)
        first = debris._FRAGMENT_END.find(body)
        if first >= 0 and debris._ASCII_WORD.least_runs(body, 0, first) > max_words:
            continue
        want += (s, e)
    for k in {kernel, debris._K}:
        sets = [k.CharSet(x.chars) for x in (debris._BIO_LEAD_SET, debris._BIO_TAIL_SET, debris._FRAGMENT_END,
                                             debris._ASCII_WORD)]
        assert k.bio_lines(text, *sets, min_enders, max_words) == want, k


# Drop caps are looked for only on the lines whose head (the line without its leading spaces
# and tabs) is a capital but A and I followed by "." or a space, all found in one scan.
_HEAD_ALPHABET = st.sampled_from(["B", "A", "I", "Z", "b", ".", " ", "\t", "x", "\n", "\r\n", "\r", "\u2028", "É"])


@settings(max_examples=600, **SETTINGS)
@given(st.lists(_HEAD_ALPHABET, max_size=24).map("".join))
def test_the_drop_cap_heads_are_the_lines_that_begin_so(text):
    from normalize.passes import debris
    from normalize.passes.base import iter_lines

    def head(line: str) -> str:
        return line.lstrip(" \t") if line[:1] in " \t" else line

    want = [s for s, _, line in iter_lines(text) if head(line)[:1] in debris._CAPS and head(line)[1:2] in (".", " ")]
    assert debris._DROPCAP_HEAD.starts(text) == want
