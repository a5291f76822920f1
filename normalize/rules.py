"""Loading and validating rules/: debris patterns, punctuation fixes, word lists, gazetteer.

Everything a curator edits is data. Loading never raises on a curator's mistake: it collects
:class:`RuleIssue` objects (``FILE:LINE: message``) so ``normalize rules check`` can list them all
and a run can refuse to start (exit 2) before writing anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

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
# libyaml's parser when PyYAML was built with it (several times faster), else pure Python
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """A safe loader that records each mapping's line in the key ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# dates stay strings: the curator wrote them, the tool compares them as text
_LineLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(RuleIssue(rel, line, f"invalid YAML: {problem}"))
        return None


def line_of(obj: Any, default: int = 1) -> int:
    return obj.get("__line__", default) if isinstance(obj, dict) else default


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def compile_pattern(pattern: str, flags: int = 0) -> regex.Pattern[str]:
    """Compile a curator's pattern with the ``regex`` module (which supports match timeouts)."""
    return regex.compile(pattern, flags | regex.VERSION0)


# -- word lists ----------------------------------------------------------------------------
def load_word_list(path: Path, root: Path, issues: list[RuleIssue]) -> list[str]:
    """One entry a line; ``#`` starts a comment; blank lines are ignored."""
    rel = _rel(path, root)
    words: list[str] = []
    seen: dict[str, int] = {}
    try:
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

    @property
    def errors(self) -> list[RuleIssue]:
        return [i for i in self.issues if i.level == "error"]

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
    """English word frequencies from pyspellchecker's bundled dictionary (loaded once)."""

    def __init__(self) -> None:
        from spellchecker import SpellChecker

        self._freq = SpellChecker(distance=1).word_frequency.dictionary

    @property
    def dictionary(self) -> dict[str, int]:
        """word -> frequency, lowercase (pyspellchecker's English list)."""
        return self._freq

    def frequency(self, word: str) -> int:
        return self._freq.get(word.lower(), 0)

    def is_word(self, word: str, min_freq: int = 1) -> bool:
        return self._freq.get(word.lower(), 0) >= min_freq

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._freq


def rules_version(root: Path) -> str:
    """A content hash of every file under the rules directory (names and bytes)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", "~")):
                continue
            path = Path(dirpath) / name
            h.update(str(path.relative_to(root)).encode())
            h.update(b"\0")
            with contextlib.suppress(OSError):
                h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]
