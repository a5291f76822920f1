"""encoding: mojibake, HTML entities, control characters and other character-level damage.

ftfy does the repair; this pass decides where to call it (only on lines that can need it)
and turns ftfy's whole-line answer into small edits with offsets. Quote style is kept: ftfy's
``uncurl_quotes`` is off, and line breaks (CRLF included) are left as they are.
"""

from __future__ import annotations

import difflib

import ftfy
import regex

from ..model import Edit, PassResult
from .base import DocContext, Pass, iter_lines

_CONFIG = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    fix_line_breaks=False,
    explain=True,
)

# A line needs ftfy only if it has something ftfy could fix: a non-ASCII character, an HTML
# entity, or a control character other than tab/CR.
_GATE = regex.compile(r"[^\t\r\x20-\x7e]|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+\d*);?")

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
        for start, _end, line in iter_lines(text):
            if not _GATE.search(line):
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
