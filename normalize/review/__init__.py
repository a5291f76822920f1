"""Reviewing a finished run: a local review app, decisions, and applying them.

* :mod:`.run` reads a run as the reviewer sees it (flags, edits, context; stable ids);
* :mod:`.decisions` is the append-only store of decisions (OUT/_normalize/decisions.jsonl);
* :mod:`.server` and :mod:`.page` are the review app (``normalize review OUT``);
* :mod:`.apply` applies decisions to the cleaned documents (``normalize apply OUT``) and
  :mod:`.proposals` turns them into gazetteer proposals.

The reviewer's guide is docs/review.md.
"""

from __future__ import annotations

from .apply import ApplyError, ApplyResult, apply_decisions, apply_review_edits
from .decisions import DecisionStore, effective
from .run import RunView, edit_id, flag_id
from .server import ReviewApp, ReviewServer, make_server

__all__ = ["ApplyError", "ApplyResult", "DecisionStore", "ReviewApp", "ReviewServer", "RunView", "apply_decisions",
           "apply_review_edits", "edit_id", "effective", "flag_id", "make_server"]
