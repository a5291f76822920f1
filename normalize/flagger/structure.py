"""Structure: what a sentence's shape says, without any model.

- ``fragment``: a piece that is not a sentence ("To study.", "Wants to own it.", a "Because ..."
  clause standing alone);
- ``repetition``: a word doubled ("the the") or a phrase said twice;
- ``unbalanced``: a quote or bracket opened and never closed (or closed, never opened) in the
  paragraph, reported on the sentence that holds the mark without a partner;
- ``lowercase-start``: a sentence beginning with a lowercase word;
- ``midsentence-capital``: a capitalised function word between lowercase words ("of The
  alliance"), the mark of a translation that kept a source capital.

Word-level checks run as one regular expression each over the sentence (C speed).
"""

from __future__ import annotations

import re
from itertools import islice
from operator import eq

from ..model import Reason
from .text import OPENERS, Sentence, kind_of

#: closed-class English words: never capitalised mid-sentence, rarely worth repeating
FUNCTION_WORDS = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "with", "by", "from", "into", "onto",
    "upon", "about", "above", "after", "against", "along", "among", "around", "before", "behind",
    "below", "beneath", "beside", "besides", "between", "beyond", "during", "except", "inside",
    "near", "off", "out", "outside", "over", "past", "since", "through", "throughout", "till",
    "toward", "towards", "under", "until", "unto", "via", "within", "without", "and", "or", "but",
    "nor", "so", "yet", "if", "then", "than", "that", "this", "these", "those", "which", "who",
    "whom", "whose", "what", "when", "where", "why", "how", "whether", "while", "although",
    "though", "because", "as", "is", "are", "was", "were", "be", "been", "being", "am", "has",
    "have", "had", "having", "do", "does", "did", "will", "would", "shall", "should", "can",
    "could", "may", "might", "must", "not", "no", "its", "it", "he", "she", "they", "we", "you",
    "me", "him", "her", "us", "them", "his", "their", "our", "your", "my", "also", "very", "there",
    "here", "both", "either", "neither", "each", "every", "all", "any", "some", "such", "only",
    "just", "even",
))
#: words doubled on purpose in good English ("that that", "had had")
_DOUBLES_OK = frozenset({"had", "that", "is", "do", "no", "bye", "ha", "very", "many", "far",
                         "more", "again", "over", "round", "on", "by", "so"})
_SUBORDINATORS = frozenset({"because", "although", "though", "whereas"})
#: a capitalised first word of this kind, ending in a full stop, lacks its subject
_NO_SUBJECT = frozenset({"wants", "needs", "seems", "hopes", "plans", "intends", "tries",
                         "has", "have", "is", "are", "was", "were", "can", "could", "will",
                         "would", "should", "must", "does", "did"})
_END = frozenset(".!?…")
_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "«": "»"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}
_QUOTES = frozenset('“”«»"')
_MARKS = re.compile(r'[()\[\]{}“”«»"]')
# a capitalised function word between a lowercase word and a lowercase content word;
# not "May" (the month), "A" (plan A), "I"
_MIDCAP_WORDS = sorted(FUNCTION_WORDS - {"may", "a", "i"}, key=lambda w: (-len(w), w))
_MIDCAP = re.compile(
    r"(?<=[a-z])[ \u00a0]+("
    + "|".join(w.capitalize() for w in _MIDCAP_WORDS)
    + r")[ \u00a0]+([a-z][\w'’-]*)"
)
_LAST_WORD = re.compile(r"(?<![\w'’-])[a-z][\w'’-]*$")
_MIDCAP_SET = frozenset(w.capitalize() for w in _MIDCAP_WORDS)
_DOUBLE = re.compile(r"(?<![\w'’-])([^\W\d_]{2,})\s+\1(?![\w'’-])", re.IGNORECASE)


def unmatched_marks(text: str) -> list[tuple[int, str]]:
    """(offset, mark) of each quote or bracket in ``text`` that has no partner: closers with no
    opener before them, openers never closed, the last straight double quote of an odd count."""
    if not _MARKS.search(text):
        return []
    out: list[tuple[int, str]] = []
    open_at: dict[str, list[int]] = {o: [] for o in _PAIRS}
    straight: list[int] = []
    for m in _MARKS.finditer(text):
        ch, at = m.group(), m.start()
        if ch in _PAIRS:
            open_at[ch].append(at)
        elif ch in _CLOSERS:
            stack = open_at[_CLOSERS[ch]]
            if stack:
                stack.pop()
            else:
                out.append((at, ch))
        else:
            straight.append(at)
    out.extend((at, o) for o, stack in open_at.items() for at in stack)
    if len(straight) % 2:
        out.append((straight[-1], '"'))
    return sorted(out)


class StructureSignal:
    def features(self, sent: Sentence, unmatched: str | None = None
                 ) -> tuple[dict[str, float], list[Reason]]:
        """``unmatched``: a quote or bracket in this sentence that has no partner in its paragraph
        (see :func:`unmatched_marks`; the caller knows the paragraph)."""
        reasons: list[Reason] = []
        toks = sent.toks
        frag = _fragment(sent)
        if frag:
            reasons.append(Reason("fragment", frag))
        reps = _repetitions(sent)
        reasons.extend(reps)
        unbalanced = 0.0
        if unmatched:
            unbalanced = 1.0
            what = "quote" if unmatched in _QUOTES else "bracket"
            reasons.append(Reason(
                "unbalanced",
                f"Unbalanced {what}: \u201c{unmatched}\u201d has no partner in this paragraph.",
            ))
        lower_start = 0.0
        w = toks[0] if toks else None  # the first token that is not an opening mark
        if w in OPENERS:
            w = next((t for t in toks if t not in OPENERS), None)
        if w is not None and w[0].islower() and kind_of(w) == "w" and not any(c.isupper() for c in w[1:]):
            lower_start = 1.0
            reasons.append(Reason("lowercase-start",
                                  f"Begins with a lowercase word (\u201c{w}\u201d): "
                                  "a cut or wrongly joined sentence?"))
        caps = 0
        for m in _MIDCAP.finditer(sent.text) if _MIDCAP_SET.intersection(sent.words[1:]) else ():
            before = _LAST_WORD.search(sent.text, max(0, m.start() - 40), m.start())
            if before is None or m.group(2).lower() in FUNCTION_WORDS:  # "publication Inside the Games"
                continue
            caps += 1
            if caps == 1:
                prev, word, nxt = before.group(), m.group(1), m.group(2)
                reasons.append(Reason(
                    "midsentence-capital",
                    f"Capitalised \u201c{word}\u201d in mid-sentence "
                    f"(\u201c{prev} {word} {nxt}\u201d): a literal translation?",
                    word.lower(),
                ))
        feats = {"fragment": float(bool(frag)), "repetition": float(len(reps)),
                 "unbalanced": unbalanced, "lowercase_start": lower_start,
                 "midsentence_capital": float(caps)}
        return feats, reasons


def _fragment(sent: Sentence) -> str | None:
    text = sent.text.rstrip("”’\"')]» ")
    words, lows = sent.words, sent.lows
    if not text or text[-1] not in _END or text[-1] == "?" or not words:
        return None
    n = len(words)
    first = words[0]
    if lows[0] == "to" and 2 <= n <= 4 and words[1][0].islower():
        return "A fragment, not a sentence: an infinitive (\u201cTo ...\u201d) with no main clause."
    if not first[0].isupper():
        return None
    if lows[0] in _SUBORDINATORS and not any(t in ",;:" for t in sent.toks):
        return f"A fragment, not a sentence: a \u201c{first} ...\u201d clause with no main clause."
    if lows[0] in _NO_SUBJECT and n >= 2 and text[-1] == ".":
        return (f"A fragment, not a sentence: it starts with the verb \u201c{first}\u201d "
                "and has no subject.")
    return None


def _repetitions(sent: Sentence) -> list[Reason]:
    out: list[Reason] = []
    lows = sent.lows
    distinct = set(lows)
    repeats = len(lows) - len(distinct)
    if not repeats:  # no word comes back: nothing is doubled, nothing said twice
        return out
    doubled = any(map(eq, lows, islice(lows, 1, None)))
    for m in _DOUBLE.finditer(sent.text) if doubled else ():
        if m.group(1).lower() not in _DOUBLES_OK:
            out.append(Reason("repetition", f"Repeated word: \u201c{m.group()}\u201d.", m.group(1)))
            break
    # a phrase said twice: three content words ("u s army") or four words, two of them content
    # words ("the village of doti"); "the first time" twice is ordinary English
    if repeats < 2:  # no two words come back: nothing repeats
        return out
    # content words that come back: tokens that are content words, less distinct content words
    if len(lows) - sum(map(FUNCTION_WORDS.__contains__, lows)) - len(distinct - FUNCTION_WORDS) < 2:
        return out
    for size, need in ((3, 3), (4, 2)):
        grams = list(zip(*(lows[k:] for k in range(size))))
        if len(set(grams)) == len(grams):
            continue
        seen: dict[tuple[str, ...], int] = {}
        for i, gram in enumerate(grams):
            j = seen.setdefault(gram, i)
            if i >= j + size and sum(1 for w in gram if w not in FUNCTION_WORDS) >= need:
                out.append(Reason("repetition", f"Phrase said twice: \u201c{' '.join(gram)}\u201d."))
                return out
    return out
