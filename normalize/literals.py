"""Required literals: strings of which every match of a pattern holds at least one.

A curator's pattern runs only on the documents that hold one of its required strings, found for
all patterns of a pass in one pass of the kernel (:class:`normalize.kernel.Needles`) over the
document. The strings are read off the parsed pattern (Python's own regular-expression parser),
so a curator maintains nothing, and a pattern that cannot be read this way (``regex``-only
syntax, backreferences, nothing required) simply always runs:

- a literal character requires itself; consecutive literals, the string they spell;
- a character class of at most :data:`MAX_CLASS` characters (no category such as ``\\w``, not
  negated) requires one of its characters;
- alternatives require the union of what each requires (each must require something);
- a group, what its contents require; a repetition at least once, what its body requires;
- a sequence, the most selective of what its mandatory parts require (:func:`_weight` of the
  least selective string, then the fewest strings); zero-width parts (anchors, lookarounds)
  require nothing.

Case-insensitive patterns (flag ``i``) get lowercase ASCII strings, searched in the document
folded by :func:`fold`: lowercased character by character, and the few characters that the
``regex`` module matches to an ASCII letter without lowercasing to it (İ ı → i, ſ → s) mapped
too. ``tests/test_gates.py`` checks on generated texts that every match holds a string.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import regex

with warnings.catch_warnings():  # the parser module: re._parser from Python 3.11, sre_parse before
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from re import _constants as _C  # type: ignore[attr-defined]
        from re import _parser as _P  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older Pythons
        import sre_constants as _C  # type: ignore[no-redef]
        import sre_parse as _P  # type: ignore[no-redef]

#: a character class with more characters than this requires nothing useful
MAX_CLASS = 32
_ZERO_WIDTH = {_C.AT, _C.ASSERT, _C.ASSERT_NOT}
_REPEATS = {_C.MAX_REPEAT, _C.MIN_REPEAT, *(x for x in (getattr(_C, "POSSESSIVE_REPEAT", None),) if x is not None)}
_ATOMIC = getattr(_C, "ATOMIC_GROUP", None)
# characters the ``regex`` module's IGNORECASE matches to an ASCII letter that lower() does not map to it
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


class _Unknown(Exception):
    """The pattern has a part whose requirement is not worked out here."""


def fold(text: str) -> str:
    """``text`` as case-insensitive required strings are searched in: as long as ``text``."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if low.isascii() or not ("\u0130" in low or "\u0131" in low or "\u017f" in low):
        return low
    return low.translate(_FOLD)


def _weight(s: str) -> float:
    """How selective a string is, roughly: spaces match almost anywhere, ASCII punctuation
    often, a letter or digit less, a non-ASCII character seldom."""
    return sum(0.25 if c.isspace() else 3.0 if not c.isascii() else 1.0 if c.isalnum() else 0.5 for c in s)


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    if not cands:
        return None
    return max(cands, key=lambda c: (min(map(_weight, c)), -len(c)))


def _class(items: list[tuple[Any, Any]]) -> frozenset[str]:
    chars: set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            chars.add(chr(av))
        elif op is _C.RANGE and av[1] - av[0] < MAX_CLASS:
            chars.update(map(chr, range(av[0], av[1] + 1)))
        else:  # a category, a negation, a large range
            raise _Unknown
    if not chars or len(chars) > MAX_CLASS:
        raise _Unknown
    return frozenset(chars)


def _item(op: Any, av: Any) -> frozenset[str] | None:
    """What one part requires (None: nothing, but the part may be skipped over)."""
    if op is _C.LITERAL:
        return frozenset(chr(av))
    if op is _C.IN:
        return _class(av)
    if op is _C.BRANCH:
        got: set[str] = set()
        for branch in av[1]:
            sub = _seq(branch)
            if sub is None:
                raise _Unknown
            got |= sub
        return frozenset(got)
    if op is _C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _Unknown
        return _seq(sub)
    if _ATOMIC is not None and op is _ATOMIC:
        return _seq(av)
    if op in _REPEATS:
        lo, _hi, sub = av
        return _seq(sub) if lo >= 1 else None
    if op in _ZERO_WIDTH:
        return None
    raise _Unknown  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS...


def _seq(items: Any) -> frozenset[str] | None:
    cands: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _C.LITERAL:
            run.append(chr(av))
            continue
        if run:
            cands.append(frozenset(["".join(run)]))
            run = []
        try:
            got = _item(op, av)
        except _Unknown:
            got = None
        if got:
            cands.append(got)
    if run:
        cands.append(frozenset(["".join(run)]))
    return _best(cands)


def _parsed(pattern: str, flags: int, *, inline_flags: bool = False) -> Any | None:
    """``pattern`` as Python's regular-expression parser reads it, or None where what this
    module reads off it could be wrong: ``flags`` other than case, lines, dot-all and Unicode,
    syntax of the regex module only (or anything the parser refuses), and, unless
    ``inline_flags``, inline flags such as (?i) and (?x), which are not worked out here."""
    if flags & ~(regex.IGNORECASE | regex.MULTILINE | regex.DOTALL | regex.VERSION0 | regex.UNICODE):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _P.parse(pattern, 0)
    except Exception:
        return None
    if not inline_flags and parsed.state.flags & ~(_C.SRE_FLAG_UNICODE | _C.SRE_FLAG_MULTILINE | _C.SRE_FLAG_DOTALL):
        return None
    return parsed


def required(pattern: str, flags: int = 0) -> tuple[tuple[str, ...], bool] | None:
    """(strings, case-insensitive) of which every match of ``pattern`` (with ``regex`` flags
    ``flags``) holds one, or None when none can be read off the pattern. Case-insensitive:
    lowercase ASCII strings, to be searched in :func:`fold` of the text."""
    ignore = bool(flags & regex.IGNORECASE)
    parsed = _parsed(pattern, flags)
    if parsed is None:
        return None
    try:
        got = _seq(parsed.data if hasattr(parsed, "data") else list(parsed))
    except _Unknown:
        return None
    if not got:
        return None
    if ignore:
        if not all(s.isascii() for s in got):
            return None
        got = frozenset(s.lower() for s in got)
    # a string that holds another of the set adds nothing ("AP Photo" holds "AP")
    got = frozenset(s for s in got if not any(t != s and t in s for t in got))
    return tuple(sorted(got)), ignore


def anchored(pattern: str, flags: int = 0) -> bool:
    """Whether every match of ``pattern`` starts at the start of the text (``\\A`` first, outside
    any alternative): then ``match`` finds what ``search`` finds, without trying each position."""
    parsed = _parsed(pattern, flags, inline_flags=True)
    if parsed is None:
        return False
    items = list(parsed)
    return bool(items) and items[0][0] is _C.AT and items[0][1] is _C.AT_BEGINNING_STRING


# -- prefixes: what every match begins with ------------------------------------------------------
#: at most this many prefixes per pattern (more: not worth it, None)
MAX_PREFIXES = 4096


def _p_item(op: Any, av: Any, k: int) -> set[tuple[str, bool]]:
    """(string, whole) pairs: every match of the part begins with one of the strings, which is
    the whole match when ``whole`` (else it is ``k`` long)."""
    if op is _C.LITERAL:
        return {(chr(av), True)}
    if op is _C.IN:
        return {(c, True) for c in _class(av)}
    if op is _C.BRANCH:
        out: set[tuple[str, bool]] = set()
        for branch in av[1]:
            out |= _p_seq(list(branch), k)
        return out
    if op is _C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _Unknown
        return _p_seq(list(sub), k)
    if _ATOMIC is not None and op is _ATOMIC:
        return _p_seq(list(av), k)
    if op in _REPEATS:
        lo, hi, sub = av
        body = list(sub)
        out = set()
        cur = {("", True)}
        reps = 0
        while True:
            if reps >= lo:
                out |= {(s, w) for s, w in cur}
            if reps == hi or not any(w and len(s) < k for s, w in cur):
                break
            nxt: set[tuple[str, bool]] = set()
            for s, w in cur:
                if not (w and len(s) < k):
                    continue
                for t, w2 in _p_seq(body, k - len(s)):
                    nxt.add((s + t, w2))
                    if len(nxt) > MAX_PREFIXES:
                        raise _Unknown
            cur = {(s, w) for s, w in nxt if not (w and len(s) == 0)}  # an empty body ends the loop
            reps += 1
            if not cur:
                break
        return {(s, w) if len(s) < k else (s[:k], False) for s, w in out}
    if op in _ZERO_WIDTH:
        return {("", True)}
    raise _Unknown


def _p_seq(items: list[tuple[Any, Any]], k: int) -> set[tuple[str, bool]]:
    cur = {("", True)}
    for op, av in items:
        if not any(w and len(s) < k for s, w in cur):
            break
        try:
            parts = [(len_, _p_item(op, av, len_)) for len_ in sorted({k - len(s) for s, w in cur if w and len(s) < k})]
        except _Unknown:  # a part not worked out: anything may follow what is known so far
            return {(s, False) for s, _ in cur}
        by_len = dict(parts)
        nxt: set[tuple[str, bool]] = set()
        for s, w in cur:
            if not w or len(s) >= k:
                nxt.add((s[:k], False) if len(s) >= k else (s, w))
                continue
            for t, w2 in by_len[k - len(s)]:
                u = s + t
                nxt.add((u[:k], False) if len(u) >= k else (u, w2))
                if len(nxt) > MAX_PREFIXES:
                    raise _Unknown
        cur = nxt
    return {(s, w) if len(s) < k else (s, False) for s, w in cur}


def _blanks(op: Any, av: Any) -> bool:
    """Whether the part is ``[ \\t]*``-like: spaces or tabs, any number, none included."""
    if op not in _REPEATS or av[0] != 0:
        return False
    body = list(av[2])
    try:
        return len(body) == 1 and _item(*body[0]) is not None and _item(*body[0]) <= {" ", "\t"}
    except _Unknown:
        return False


@functools.lru_cache(maxsize=1024)  # (a pure function of the pattern: the rules are checked, then used)
def prefixes(pattern: str, flags: int = 0, k: int = 4) -> tuple[tuple[str, ...], bool, bool] | None:
    """(strings, case-insensitive, after blanks) with which every match of ``pattern`` begins
    (a string shorter than ``k`` may be a whole match, or be followed by anything), or None
    when they cannot be read off the pattern or are too many. Case-insensitive: lowercase, for
    :func:`fold` of the text (non-ASCII: None). After blanks: the pattern begins with spaces or
    tabs, any number (``[ \\t]*``), and none of the strings does; then the match begins where
    the blanks end, with one of the strings."""
    ignore = bool(flags & regex.IGNORECASE)
    parsed = _parsed(pattern, flags)
    if parsed is None:
        return None
    items = list(parsed)
    # ^(?:...): the anchors require nothing, the group is its contents
    while items and items[0][0] is _C.AT:
        items = items[1:]
    while items and items[0][0] is _C.SUBPATTERN and not items[0][1][1] and not items[0][1][2]:
        items = list(items[0][1][3]) + items[1:]
    after_blanks = bool(items) and _blanks(*items[0])
    try:
        got = {s for s, _ in _p_seq(items[1:] if after_blanks else items, k)}
    except _Unknown:
        return None
    if not got or "" in got:  # a match may be empty: nothing it must begin with
        return None
    if after_blanks and any(s[0] in " \t" for s in got):  # may begin inside the blanks: say all
        try:
            got = {s for s, _ in _p_seq(items, k)}
        except _Unknown:
            return None
        after_blanks = False
        if not got or "" in got:
            return None
    if ignore:
        if not all(s.isascii() for s in got):
            return None
        got = {s.lower() for s in got}
    # a string that another of the set begins with is enough ("AP" covers "AP P")
    got = {s for s in got if not any(s[:j] in got for j in range(1, len(s)))}
    return tuple(sorted(got)), ignore, after_blanks
