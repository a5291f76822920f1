"""Loading and validating rules/: debris patterns, punctuation fixes, word lists, gazetteer.

Everything a curator edits is data. Loading never raises on a curator's mistake: it collects
:class:`RuleIssue` objects (``FILE:LINE: message``) so ``normalize rules check`` can list them all
and a run can refuse to start (exit 2) before writing anything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (imported when rules are read or patterns made: a re-run with nothing to do needs neither)
    import regex
    import yaml

#: Largest rules file accepted: a curator's file is never this big; a generated or corrupt one is.
MAX_RULE_FILE_BYTES = 20 * 1024 * 1024
#: Upper bound on one regex match in the hot path (seconds); see :func:`compile_pattern`.
PATTERN_TIMEOUT = 0.5


def default_rules_dir() -> Path:
    """rules/ of a source checkout, else the copy packaged inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "rules", here / "_rules"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no rules directory found next to the normalize package")


@dataclass(frozen=True, slots=True)
class RuleIssue:
    file: str
    line: int
    message: str
    level: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        tag = "" if self.level == "error" else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.message}"


class RulesError(Exception):
    """Raised when rules cannot be used; carries every issue found."""

    def __init__(self, issues: list[RuleIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


# -- YAML with line numbers ----------------------------------------------------------------
def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


class _LineList(list):
    """A YAML sequence that knows its line (``line_of``), for errors about the list itself,
    e.g. a gazetteer entry written as a list."""

    __slots__ = ("__line__",)


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> list[Any]:
    seq = _LineList(loader.construct_sequence(node, deep=True))
    seq.__line__ = node.start_mark.line + 1
    return seq


@functools.cache
def _line_loader() -> type:
    """A safe YAML loader that records each mapping's line in the key ``__line__`` (libyaml's
    parser when PyYAML was built with it, several times faster, else pure Python); made on the
    first rules file read."""
    import yaml

    class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    # dates stay strings: the curator wrote them, the tool compares them as text
    LineLoader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return LineLoader


def load_yaml(path: Path, root: Path, issues: list[RuleIssue]) -> Any:
    rel = _rel(path, root)
    try:
        size = path.stat().st_size
        if size > MAX_RULE_FILE_BYTES:
            issues.append(RuleIssue(rel, 1, f"file is {size} bytes; rules files are limited to "
                                            f"{MAX_RULE_FILE_BYTES} bytes"))
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(RuleIssue(rel, 1, f"cannot read: {exc}"))
        return None
    import yaml

    try:
        return yaml.load(text, Loader=_line_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(RuleIssue(rel, line, f"invalid YAML: {problem}"))
        return None


def line_of(obj: Any, default: int = 1) -> int:
    if isinstance(obj, dict):
        return obj.get("__line__", default)
    return getattr(obj, "__line__", default) if isinstance(obj, _LineList) else default


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


class RuleTimeout(TimeoutError):
    """A curator's pattern ran past its time budget on a document (catastrophic backtracking).

    The document fails with a clear message naming the rule; the run goes on."""

    def __init__(self, origin: str, pattern: str, seconds: float, length: int) -> None:
        self.origin = origin
        self.pattern = pattern
        shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
        where = f"rule {origin}" if origin else f"pattern {shown!r}"
        super().__init__(f"{where} took more than {seconds:.1f}s on a text of {length} characters "
                         "(a pattern that backtracks catastrophically?)")

    def where(self) -> tuple[str, int]:
        """(file, line) of the rule, from its origin ``FILE:LINE id``."""
        m = re.match(r"(.*):(\d+) ", self.origin)
        return (m.group(1), int(m.group(2))) if m else (self.origin or "rules", 0)


#: the time budget of one match grows with the text: this many seconds per character on top of
#: PATTERN_TIMEOUT (2 s per million characters, about 20 times what the shipped rules need)
PATTERN_SECONDS_PER_CHAR = 2e-6


def match_budget(length: int, base: float | None = None) -> float:
    """Seconds one regex operation over ``length`` characters may take."""
    return (PATTERN_TIMEOUT if base is None else base) + length * PATTERN_SECONDS_PER_CHAR


class TimedPattern:
    """A compiled curator's pattern whose every operation is bounded in time.

    It wraps a ``regex`` pattern: ``search``, ``match``, ``fullmatch``, ``finditer``, ``findall``,
    ``sub`` and ``subn`` take the usual arguments; ``timeout`` (default :data:`PATTERN_TIMEOUT`) is the
    base of a budget that grows with the length of the text (:func:`match_budget`), so a long
    document is not cut short while a catastrophic pattern still stops quickly. Running out raises
    :class:`RuleTimeout`. Other attributes (``pattern``, ``flags``, ``groupindex``, ...) are the
    wrapped pattern's.
    """

    __slots__ = ("origin", "regex")

    def __init__(self, compiled: regex.Pattern[str], origin: str = "") -> None:
        self.regex = compiled
        self.origin = origin

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("regex", "origin"):  # (not set yet: unpickling, copying)
            raise AttributeError(name)
        return getattr(self.regex, name)

    def __repr__(self) -> str:
        return f"TimedPattern({self.regex.pattern!r})"

    def _budget(self, string: str, timeout: float | None) -> float:
        return match_budget(len(string), timeout)

    def _timeout(self, string: str, budget: float) -> RuleTimeout:
        return RuleTimeout(self.origin, self.regex.pattern, budget, len(string))

    def search(self, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> regex.Match[str] | None:
        budget = self._budget(string, timeout)
        try:
            return self.regex.search(string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def match(self, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> regex.Match[str] | None:
        budget = self._budget(string, timeout)
        try:
            return self.regex.match(string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def fullmatch(self, string: str, *args: Any, timeout: float | None = None,
                  **kw: Any) -> regex.Match[str] | None:
        budget = self._budget(string, timeout)
        try:
            return self.regex.fullmatch(string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def finditer(self, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> Iterator[regex.Match[str]]:
        budget = self._budget(string, timeout)  # for the whole iteration, as in ``regex``
        try:
            yield from self.regex.finditer(string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def findall(self, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> list[Any]:
        budget = self._budget(string, timeout)
        try:
            return self.regex.findall(string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def sub(self, repl: Any, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> str:
        budget = self._budget(string, timeout)
        try:
            return self.regex.sub(repl, string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None

    def subn(self, repl: Any, string: str, *args: Any, timeout: float | None = None, **kw: Any) -> tuple[str, int]:
        budget = self._budget(string, timeout)
        try:
            return self.regex.subn(repl, string, *args, timeout=budget, **kw)
        except TimeoutError:
            raise self._timeout(string, budget) from None


# A quantified group that ends in an unbounded quantifier and is itself repeated without bound,
# e.g. (a+)+ or (?:\w+\s*)*: the classic shape of catastrophic backtracking. A heuristic: it
# gives a warning, and every match is bounded in time anyway (TimedPattern).
_NESTED_QUANTIFIER = re.compile(r"(?<!\\)(?:[+*]|\{\d*,\})[?+]?\)(?:[+*]|\{\d*,\})")


def risky_pattern(pattern: str) -> str | None:
    """Why ``pattern`` looks prone to catastrophic backtracking, or None."""
    m = _NESTED_QUANTIFIER.search(pattern)
    if m:
        return (f"nested unbounded repetition {m.group()!r} can backtrack catastrophically; every match "
                f"is stopped after {PATTERN_TIMEOUT}s plus {PATTERN_SECONDS_PER_CHAR * 1e6:g}s per million "
                "characters, failing the document")
    return None


def compile_pattern(pattern: str, flags: int = 0, origin: str = "") -> TimedPattern:
    """Compile a curator's pattern with the ``regex`` module, every operation bounded in time
    (:class:`TimedPattern`). ``origin`` (``FILE:LINE id``) names the rule in a timeout error."""
    import regex

    return TimedPattern(regex.compile(pattern, flags | regex.VERSION0), origin)


# -- word lists ----------------------------------------------------------------------------
def load_word_list(path: Path, root: Path, issues: list[RuleIssue]) -> list[str]:
    """One entry a line; ``#`` starts a comment; blank lines are ignored."""
    rel = _rel(path, root)
    words: list[str] = []
    seen: dict[str, int] = {}
    try:
        size = path.stat().st_size
        if size > MAX_RULE_FILE_BYTES:
            issues.append(RuleIssue(rel, 1, f"file is {size} bytes; rules files are limited to "
                                            f"{MAX_RULE_FILE_BYTES} bytes"))
            return words
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(RuleIssue(rel, 1, f"cannot read: {exc}"))
        return words
    for n, raw in enumerate(lines, 1):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        if item in seen:
            issues.append(RuleIssue(rel, n, f"duplicate entry {item!r} (first on line {seen[item]})",
                                    "warning"))
            continue
        seen[item] = n
        words.append(item)
    return words


# -- the rule set --------------------------------------------------------------------------
@dataclass
class RuleSet:
    """Everything under one rules directory, loaded once per worker."""

    root: Path
    debris: dict[str, Any] = field(default_factory=dict)
    punctuation: dict[str, Any] = field(default_factory=dict)
    words: dict[str, list[str]] = field(default_factory=dict)
    gazetteer: dict[str, Any] = field(default_factory=dict)
    issues: list[RuleIssue] = field(default_factory=list)
    version: str = ""
    #: False for a :meth:`shell`: root and version only, nothing read or validated
    loaded: bool = True

    @property
    def errors(self) -> list[RuleIssue]:
        return [i for i in self.issues if i.level == "error"]

    @classmethod
    def shell(cls, root: Path | str | None = None) -> RuleSet:
        """The directory and its version (a hash of its files) without reading the rules: enough
        to decide which results of an earlier run are current. :meth:`load` it before use."""
        root = Path(root) if root is not None else default_rules_dir()
        return cls(root=root, version=rules_version(root) if root.is_dir() else "", loaded=False)

    @classmethod
    def load(cls, root: Path | str | None = None) -> RuleSet:
        root = Path(root) if root is not None else default_rules_dir()
        rs = cls(root=root)
        if not root.is_dir():
            rs.issues.append(RuleIssue(str(root), 0, "rules directory does not exist"))
            return rs
        rs.version = rules_version(root)
        for name in ("debris", "punctuation"):
            path = root / f"{name}.yaml"
            if path.exists():
                data = load_yaml(path, root, rs.issues)
                if data is not None and not isinstance(data, dict):
                    rs.issues.append(RuleIssue(_rel(path, root), 1, "expected a mapping at the top"))
                    data = None
                setattr(rs, name, data or {})
            else:
                rs.issues.append(RuleIssue(_rel(path, root), 0, "missing rules file"))
        words_dir = root / "words"
        if words_dir.is_dir():
            for path in sorted(words_dir.glob("*.txt")):
                rs.words[path.stem] = load_word_list(path, root, rs.issues)
        gaz_dir = root / "gazetteer"
        if gaz_dir.is_dir():
            for path in sorted(gaz_dir.glob("*.yaml")):
                data = load_yaml(path, root, rs.issues)
                if data is not None:
                    rs.gazetteer[path.name] = data
        # validation of each part is done by the pass that uses it (see normalize.passes)
        from .passes import validate_rules  # local import: passes import this module

        validate_rules(rs)
        return rs

    def require_ok(self) -> RuleSet:
        if self.errors:
            raise RulesError(self.issues)
        return self

    def rel(self, name: str) -> str:
        return _rel(self.root / name, self.root)

    @cached_property
    def english(self) -> EnglishWords:
        return EnglishWords()


class EnglishWords:
    """English word frequencies from pyspellchecker's bundled dictionary (loaded once).

    ``words``: lowercase word -> frequency, instead of pyspellchecker's list. With the compiled
    kernel the list is held in one of its tables (:class:`normalize._kernel.StrMap`: about a
    third of a dict's memory), which the flagger's and the gazetteer's compiled tables share."""

    #: the words are lowercase (what :attr:`dictionary` holds)
    lowercase = True

    def __init__(self, words: dict[str, int] | None = None) -> None:
        data = _pyspellchecker_words() if words is None else _lowered(words)
        self._freq: Any = data
        if all(0 <= v < 2**31 for v in data.values()):
            from . import kernel

            if kernel.compiled is not None:
                self._freq = kernel.compiled.StrMap(data)

    @property
    def dictionary(self) -> Any:
        """word -> frequency, lowercase (pyspellchecker's English list): a dict, or the
        compiled kernel's table, read the same way (``get``, ``in``, ``[]``, ``items``)."""
        return self._freq

    def frequency(self, word: str) -> int:
        return self._freq.get(word.lower(), 0)

    def is_word(self, word: str, min_freq: int = 1) -> bool:
        return self._freq.get(word.lower(), 0) >= min_freq

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._freq

    def __len__(self) -> int:
        return len(self._freq)


def frequent_items(words: Any, least: int) -> list[tuple[str, int]]:
    """(word, frequency) of the words of a word list (a dict, or the compiled table
    :attr:`EnglishWords.dictionary` may be) at least ``least`` frequent, in the list's order."""
    if isinstance(words, dict):
        return [(w, f) for w, f in words.items() if f >= least]
    return words.items(least)  # (filtered by the table itself: no tuple made for the others)


def most_frequent(words: Any, n: int) -> list[tuple[str, int]]:
    """The ``n`` most frequent words of a word list (ties in alphabetical order)."""
    least = 0 if isinstance(words, dict) else words.nth_value(n)  # (the table finds the n-th value)
    return sorted(frequent_items(words, least), key=lambda wf: (-wf[1], wf[0]))[:n]


def _lowered(words: dict[str, int]) -> dict[str, int]:
    """The words lowercase, the counts of words that differ only in case added up (as
    pyspellchecker does when it loads a list)."""
    if all(w == w.lower() for w in words):
        return words
    out: dict[str, int] = {}
    for w, f in words.items():
        out[w.lower()] = out.get(w.lower(), 0) + f
    return out


def _pyspellchecker_words() -> dict[str, int]:
    """pyspellchecker's English list, as ``SpellChecker().word_frequency.dictionary`` holds it:
    read from the file it ships with one JSON parse (its own loading builds the dict three
    times over); through ``SpellChecker`` when that file is not where it was."""
    import gzip
    import json
    import pkgutil

    try:
        raw = pkgutil.get_data("spellchecker", "resources/en.json.gz")
        if raw:
            return _lowered(json.loads(gzip.decompress(raw).decode("utf-8")))
    except (OSError, ValueError):
        pass
    from spellchecker import SpellChecker

    return dict(SpellChecker(distance=1).word_frequency.dictionary)


def rules_version(root: Path) -> str:
    """A content hash of every file under the rules directory (names and bytes)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", "~")):
                continue
            path = Path(dirpath) / name
            h.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape"))
            h.update(b"\0")
            with contextlib.suppress(OSError):
                if path.stat().st_size > MAX_RULE_FILE_BYTES:  # refused when loaded; not read here
                    h.update(f"{path.stat().st_size}:{path.stat().st_mtime_ns}".encode())
                else:
                    with open(path, "rb") as fh:
                        while block := fh.read(1 << 20):
                            h.update(block)
            h.update(b"\0")
    return h.hexdigest()[:16]
