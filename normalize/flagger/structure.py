"""Structure: what a sentence's shape says, without any model.

- ``fragment``: a piece that is not a sentence ("To study.", "Wants to own it.", a "Because ..."
  clause standing alone);
- ``repetition``: a word doubled ("the the") or a phrase said twice;
- ``unbalanced``: a quote or bracket opened and never closed (or closed, never opened) in the
  paragraph, reported on the sentence that holds the mark without a partner;
- ``lowercase-start``: a sentence beginning with a lowercase word;
- ``midsentence-capital``: a capitalised function word between lowercase words ("of The
  alliance"), the mark of a translation that kept a source capital.

The kernel (:mod:`normalize.kernel`) finds them, from each token's entry (the bits below say
which words are which); this module words the reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import kernel
from ..model import Reason

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
#: capitalised function words that mid-sentence are a translation's mistake; not "May" (the
#: month), "A" (plan A), "I"
MIDCAP_WORDS = frozenset(w.capitalize() for w in FUNCTION_WORDS - {"may", "a", "i"})
#: every lowercase word with a structure bit (word_bits)
LOW_WORDS = FUNCTION_WORDS | _SUBORDINATORS | _NO_SUBJECT | _DOUBLES_OK | {"to"}
#: ", ; :" make a "Because ..." start the clause of a sentence
CLAUSE_MARKS = frozenset(",;:")


def word_bits(tok: str, low: str) -> int:
    """The kernel bits of a word that this module's checks read."""
    bits = 0
    if low in FUNCTION_WORDS:
        bits |= kernel.FUNCTION
    if tok in MIDCAP_WORDS:
        bits |= kernel.MIDCAP
    if low in _SUBORDINATORS:
        bits |= kernel.SUBORDINATOR
    if low in _NO_SUBJECT:
        bits |= kernel.NO_SUBJECT
    if low == "to":
        bits |= kernel.TO
    if low in _DOUBLES_OK:
        bits |= kernel.DOUBLE_OK
    return bits


#: the reasons' wording, one template a reason (str.format); the compiled kernel words them from
#: these too (normalize._kernel.Wording)
TEMPLATES = {
    "fragment-1": "A fragment, not a sentence: an infinitive (\u201cTo ...\u201d) with no main clause.",
    "fragment-2": "A fragment, not a sentence: a \u201c{} ...\u201d clause with no main clause.",
    "fragment-3": "A fragment, not a sentence: it starts with the verb \u201c{}\u201d and has no subject.",
    "doubled": "Repeated word: \u201c{}\u201d.",
    "phrase": "Phrase said twice: \u201c{}\u201d.",
    "unbalanced-quote": "Unbalanced quote: \u201c{}\u201d has no partner in this paragraph.",
    "unbalanced-bracket": "Unbalanced bracket: \u201c{}\u201d has no partner in this paragraph.",
    "lowercase-start": "Begins with a lowercase word (\u201c{}\u201d): a cut or wrongly joined sentence?",
    "midsentence-capital": "Capitalised \u201c{1}\u201d in mid-sentence (\u201c{0} {1} {2}\u201d): a literal translation?",
}
QUOTES = "“”«»\""


def reasons(text: str, token: Callable[[int], tuple[int, int, int, int]], info: tuple[int, ...]) -> list[Reason]:
    """The structure reasons of a sentence, from what the kernel found (``info``, see
    :data:`normalize.kernel.INFO`; ``token``: the document's tokens)."""
    lo, hi, _n, fragment, doubled, phrase_at, phrase_size, mark, lower_start, midcap = info[:10]
    t = TEMPLATES
    out: list[Reason] = []
    if fragment:
        first = next(text[s:e] for s, e, b, _ in map(token, range(lo, hi)) if b & kernel.WORD)
        out.append(Reason("fragment", t[f"fragment-{fragment}"].format(first)))
    if doubled >= 0:
        s, e, _, _ = token(doubled)
        _, e2, _, _ = token(doubled + 1)
        out.append(Reason("repetition", t["doubled"].format(text[s:e2]), text[s:e]))
    if phrase_at >= 0:
        words = [(s, e) for s, e, b, _ in map(token, range(lo, hi)) if b & kernel.WORD]
        gram = " ".join(text[s:e].lower().replace("’", "'") for s, e in words[phrase_at : phrase_at + phrase_size])
        out.append(Reason("repetition", t["phrase"].format(gram)))
    if mark:
        ch = chr(mark)
        out.append(Reason("unbalanced", t["unbalanced-quote" if ch in QUOTES else "unbalanced-bracket"].format(ch)))
    if lower_start >= 0:
        s, e, _, _ = token(lower_start)
        out.append(Reason("lowercase-start", t["lowercase-start"].format(text[s:e])))
    if midcap >= 0:
        prev, word, nxt = (text[s:e] for s, e, _, _ in map(token, (midcap - 1, midcap, midcap + 1)))
        out.append(Reason("midsentence-capital", t["midsentence-capital"].format(prev, word, nxt), word.lower()))
    return out
