"""encoding: mojibake, HTML entities, control characters and other character-level damage.

ftfy does the repair; this pass decides where to call it (only on lines that can need it: see
:func:`untouched`, built from ftfy's own tables and mojibake check)
and turns ftfy's whole-line answer into small edits with offsets. Quote style is kept: ftfy's
``uncurl_quotes`` is off, and line breaks (CRLF included) are left as they are.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any

import ftfy
from ftfy import badness, chardata

from .. import kernel
from ..model import Edit, PassResult
from .base import DocContext, Pass, iter_lines

_CONFIG = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    fix_line_breaks=False,
    explain=True,
)

# The characters one of ftfy's steps (with this config) acts on wherever they are: "&" (HTML
# entities), ESC (terminal escapes), C1 controls, surrogates, Latin ligatures, halfwidth and
# fullwidth forms, the control characters it removes; read from ftfy's own tables.
_SPECIAL: Any = (kernel.compiled or kernel).CharSet(
    chr(c) for c in {ord("&"), 0x1B, *range(0x80, 0xA0), *range(0xD800, 0xE000),
                     *chardata.LIGATURES, *chardata.WIDTH_MAP, *chardata.CONTROL_CHARS})


def _mojibake_chars() -> tuple[frozenset[str], int]:
    """The characters of which every match of ftfy's mojibake pattern (``badness.BADNESS_RE``,
    what ``is_bad`` searches) holds at least one, and the pattern's longest match: the
    characters of its categories (ranges such as ``À-Ñ`` expanded) and the non-ASCII
    characters it names. ``tests/test_gates.py`` checks, branch by branch of the parsed
    pattern, that each branch requires one of them."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import sre_constants
        import sre_parse

    chars = {c for c in badness.BADNESS_RE.pattern if not c.isascii()}
    for body in badness.MOJIBAKE_CATEGORIES.values():
        kind, items = sre_parse.parse(f"[{body}]")[0]  # a one-character class parses as a literal
        for op, av in items if kind is sre_constants.IN else [(kind, items)]:
            if op is sre_constants.RANGE:
                chars.update(map(chr, range(av[0], av[1] + 1)))
            else:
                chars.add(chr(av))
    return frozenset(chars), sre_parse.parse(badness.BADNESS_RE.pattern, badness.BADNESS_RE.flags).getwidth()[1]


_MOJIBAKE, _WIDTH = _mojibake_chars()
_MOJI: Any = (kernel.compiled or kernel).CharSet(_MOJIBAKE)


def is_bad(line: str) -> bool:
    """``ftfy.badness.is_bad(line)``, searched only around the characters every match holds
    (a match is at most ``_WIDTH`` characters long), with the pattern's own anchors (``pos`` and
    ``endpos`` keep ``^`` at the real start)."""
    search = badness.BADNESS_RE.search
    i = _MOJI.find(line)
    while i >= 0:
        if search(line, max(0, i - _WIDTH + 1), i + _WIDTH):
            return True
        i = _MOJI.find(line, i + 1)
    return False


def untouched(line: str) -> bool:
    """True when ftfy (with this pass's config) would leave ``line`` as it is: it holds none of
    the characters a step acts on anywhere, it is NFC-normalised, and ftfy's own mojibake check
    (``is_bad``, which gates its encoding repair) finds nothing. ASCII text without those
    characters passes at once. (tests/test_gates.py checks the claim on generated lines.)"""
    if _SPECIAL.find(line) >= 0:
        return False
    return line.isascii() or (unicodedata.is_normalized("NFC", line) and not is_bad(line))

_STEP_RULES = {
    "unescape_html": "html-entity",
    "remove_terminal_escapes": "terminal-escape",
    "remove_control_chars": "control-character",
    "fix_latin_ligatures": "ligature",
    "fix_character_width": "character-width",
    "fix_surrogates": "surrogate",
    "restore_byte_a0": "mojibake",
    "replace_lossy_sequences": "mojibake",
    "decode_inconsistent_utf8": "mojibake",
    "fix_c1_controls": "mojibake",
}
_CONFIDENCE = {"mojibake": 0.95}
#: Lines longer than this get one trimmed edit instead of a character diff (diff is quadratic).
_DIFF_LIMIT = 5000


def _rule_name(explanation: list[tuple[str, str]] | None) -> str:
    names: list[str] = []
    for action, param in explanation or []:
        if action in ("encode", "decode", "transcode"):
            name = "mojibake"
        elif action == "normalize":
            name = "unicode-" + param.lower()
        else:
            name = _STEP_RULES.get(param, param.replace("_", "-"))
        if name not in names:
            names.append(name)
    return "+".join(names) or "unicode"


class EncodingPass(Pass):
    name = "encoding"
    description = "repair mojibake, HTML entities and control characters (ftfy), keeping quote style"

    def run(self, text: str, ctx: DocContext) -> PassResult:
        edits: list[Edit] = []
        if text.isascii() and _SPECIAL.find(text) < 0:  # most documents: nothing ftfy could change
            return PassResult(edits=edits)
        for start, _end, line in iter_lines(text):
            if untouched(line):
                continue
            fixed, explanation = ftfy.fix_and_explain(line, config=_CONFIG)
            if fixed == line:  # (then a second call would give the same: skip it)
                continue
            # ftfy is not always idempotent in one call; a second call settles it
            again = ftfy.fix_and_explain(fixed, config=_CONFIG)
            if again.text != fixed:
                fixed = again.text
                explanation = list(explanation or []) + list(again.explanation or [])
            if fixed == line:
                continue
            rule = _rule_name(explanation)
            conf = min((_CONFIDENCE.get(r, 1.0) for r in rule.split("+")), default=1.0)
            edits.extend(_diff_edits(line, fixed, start, rule, conf))
        return PassResult(edits=edits)


def _diff_edits(old: str, new: str, offset: int, rule: str, confidence: float) -> list[Edit]:
    if len(old) > _DIFF_LIMIT or len(new) > _DIFF_LIMIT:
        p = 0
        while p < min(len(old), len(new)) and old[p] == new[p]:
            p += 1
        s = 0
        while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
            s += 1
        return [Edit(offset + p, offset + len(old) - s, new[p : len(new) - s], rule,
                     confidence=confidence)]
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[Edit] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag != "equal":
            out.append(Edit(offset + i1, offset + i2, new[j1:j2], rule, confidence=confidence))
    return out
