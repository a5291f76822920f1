"""The passes, in the order the pipeline runs them.

A pass is one module with one class; add a pass by writing the module and listing its class
in ``PASSES``. ``--only`` and ``--skip`` select passes by name.
"""

from __future__ import annotations

from .. import model
from ..rules import RuleIssue, RuleSet, RuleTimeout
from .base import DocContext, Pass
from .debris import DebrisPass
from .encoding import EncodingPass
from .gazetteer import GazetteerPass
from .punctuation import PunctuationPass

PASSES: list[type[Pass]] = [EncodingPass, DebrisPass, PunctuationPass, GazetteerPass]
PASS_NAMES: list[str] = [p.name for p in PASSES]
if tuple(PASS_NAMES) != model.PASS_NAMES:
    raise ImportError(f"normalize.model.PASS_NAMES must list the passes in order: {PASS_NAMES}")


def validate_rules(rules: RuleSet) -> None:
    """Run every pass's validation and add what it finds to ``rules.issues``."""
    found: list[RuleIssue] = []
    for p in PASSES:
        try:
            found.extend(p.validate(rules))
        except RuleTimeout as exc:  # a rule's own example made its pattern backtrack
            file, line = exc.where()
            found.append(RuleIssue(file, line, f"{exc} while checking the rule's examples"))
        except Exception as exc:  # a value of a type no check foresaw: an error, never a traceback
            found.append(RuleIssue(str(rules.root), 0, f"the {p.name} rules could not be checked: "
                                                       f"{type(exc).__name__}: {exc}"))
    rules.issues.extend(found)


def select(only: list[str] | None = None, skip: list[str] | None = None) -> list[type[Pass]]:
    """The pass classes to run, in pipeline order; unknown names raise ValueError."""
    for name in [*(only or []), *(skip or [])]:
        if name not in PASS_NAMES:
            raise ValueError(f"unknown pass {name!r} (passes: {', '.join(PASS_NAMES)})")
    chosen = [p for p in PASSES if not only or p.name in only]
    return [p for p in chosen if not skip or p.name not in skip]


__all__ = ["PASSES", "PASS_NAMES", "DocContext", "Pass", "select", "validate_rules"]
