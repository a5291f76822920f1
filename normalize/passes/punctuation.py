"""punctuation: misdirected and misplaced quotes, spaces before punctuation, doubled spaces.

The rules are data (rules/punctuation.yaml); this module applies them. Each rule keeps the
document's quote style: it moves or turns a quote, never straightens or curls it.
"""

from __future__ import annotations

import regex

from ..model import PassResult
from ..rules import RuleIssue, RuleSet
from .base import DocContext, Pass, PatternRule, RequiresGate, load_pattern_rules, minimal_edit, non_overlapping

FILE = "punctuation.yaml"
_FLAGS = {"m": regex.MULTILINE, "i": regex.IGNORECASE, "s": regex.DOTALL, "x": regex.VERBOSE}


def _flags(value: object) -> int:
    out = 0
    for ch in str(value or ""):
        out |= _FLAGS.get(ch, 0)
    return out


def load_rules(rules: RuleSet, issues: list[RuleIssue]) -> list[PatternRule]:
    items = rules.punctuation.get("rules")
    out: list[PatternRule] = []
    file = rules.rel(FILE)
    for item in items or []:
        # flags are per rule; compile each with its own
        part = load_pattern_rules([item], file, "rules", issues,
                                  flags=_flags(item.get("flags")) if isinstance(item, dict) else 0,
                                  allowed=("flags",))
        if part and part[0].id in {r.id for r in out}:
            issues.append(RuleIssue(file, part[0].line, f"rules: duplicate rule id {part[0].id!r}"))
            continue
        out.extend(part)
    return out


def apply_rule(rule: PatternRule, text: str) -> str:
    return rule.pattern.sub(lambda m: m.expand(rule.replace), text)


class PunctuationPass(Pass):
    name = "punctuation"
    description = "repair misdirected quotes, spaces before punctuation, doubled and trailing spaces"

    def __init__(self, rules: RuleSet) -> None:
        super().__init__(rules)
        self.patterns = load_rules(rules, [])
        self.gate = RequiresGate(self.patterns)

    @classmethod
    def validate(cls, rules: RuleSet) -> list[RuleIssue]:
        issues: list[RuleIssue] = []
        for rule in load_rules(rules, issues):
            file = rules.rel(FILE)
            for ex in rule.examples:
                if not (isinstance(ex, list) and len(ex) == 2):
                    issues.append(RuleIssue(file, rule.line, f"rule {rule.id!r}: an example is "
                                                             "[input, expected output]"))
                    continue
                got = apply_rule(rule, str(ex[0]))
                if got != str(ex[0]) and not rule.may_match(str(ex[0])):
                    issues.append(RuleIssue(file, rule.line, f"rule {rule.id!r}: example {ex[0]!r} holds "
                                                             "none of the `requires` strings, so the rule "
                                                             "would never run on it"))
                if got != ex[1]:
                    issues.append(RuleIssue(file, rule.line, f"rule {rule.id!r}: example {ex[0]!r} "
                                                             f"gives {got!r}, expected {ex[1]!r}"))
            for keep in rule.keep:
                if apply_rule(rule, keep) != keep:
                    issues.append(RuleIssue(file, rule.line,
                                            f"rule {rule.id!r}: changes {keep!r}, listed under keep"))
        return issues

    def run(self, text: str, ctx: DocContext) -> PassResult:
        edits = []
        for rule in self.gate.rules_for(text):
            for m in rule.pattern.finditer(text):
                e = minimal_edit(text, m.start(), m.end(), m.expand(rule.replace), rule=rule.id,
                                 confidence=rule.confidence)
                if e is not None:
                    edits.append(e)
        return PassResult(edits=non_overlapping(edits))
