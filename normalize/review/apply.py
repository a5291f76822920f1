"""``normalize apply OUT``: put reviewers' decisions into the cleaned documents of a run.

What it does
    1. Reads OUT/_normalize/decisions.jsonl and keeps, per flag or edit, the decisions that
       count (:func:`.decisions.effective`). Conflicts (reviewers who disagree) are skipped and
       reported; so are stale decisions (a flag or edit that is not in this run) and decisions
       whose text is no longer where they say.
    2. Turns each decision into a change of the cleaned document *before review*: an accepted
       suggestion or a typed correction replaces text in the flagged sentence, a revert puts back
       the text an automatic edit replaced. Two changes that overlap cannot both be right: the
       first (in document order) is applied, the other is reported.
    3. Writes the documents: ``.txt`` outputs, and the text field of ``.jsonl`` / ``.jsonl.gz``
       records (the k-th document of a file in documents.jsonl is the k-th record of its output;
       every other record and field is kept byte for byte). Before a file is first changed, its
       pre-review bytes are copied to OUT/_normalize/pre-review/<file> (listed in pre-review.json
       with the hashes of the copy, of what apply wrote, and of the run's records of the file);
       every apply starts again from that copy. Each file is written atomically.
    4. Records each change in OUT/_normalize/edits.jsonl as an edit with ``pass`` "review",
       ``action`` "review", ``rule`` the decision's action (accept, correct, revert), ``start`` /
       ``end`` as offsets into the cleaned document *before review* (the text the run wrote,
       which flags.jsonl's offsets also refer to), ``before``, ``after``, the ``reviewer``,
       ``time`` and ``decision`` id, and the ``flag`` (and ``edit``) id. Review records follow the
       run's own edits, in document order; the run's records are kept byte for byte. So
       ``replay(input, run edits)`` gives the cleaned text and applying the review records to it
       (see :func:`apply_review_edits`) gives the reviewed text.
    5. Appends to OUT/_normalize/applied.jsonl one line per decision not applied before.
    6. Writes gazetteer proposals (:mod:`.proposals`) and checks them as ``rules check`` would.

Idempotent: the documents, edits.jsonl and the proposals are computed from the pre-review text
and all decisions every time, so a second apply writes the same bytes (and nothing at all when
nothing changed), and applied.jsonl gets no new line. When a new ``normalize run`` rewrites an
output, its pre-review copy no longer matches and is ignored (and replaced on the next apply).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..gazetteer import Gazetteer
from ..io import atomic_write, dumps_record, gzip_bytes
from ..rules import RuleIssue, RuleSet
from .decisions import DecisionStore, TargetState, effective, now_iso
from .proposals import MARKER, PROPOSALS_NAME, Builder, Proposals, base_rules, render, validate
from .run import (
    META_DIR,
    PREREVIEW_DIR,
    PREREVIEW_MANIFEST,
    Change,
    Doc,
    FlagView,
    RunView,
    prereview_files,
    prereview_source,
    read_records,
)

APPLIED = "applied.jsonl"


class ApplyError(Exception):
    """OUT is not a run, or its files cannot be used: nothing was written."""


@dataclass
class Planned:
    decision: dict[str, Any]
    state: TargetState
    flag: FlagView
    change: Change | None = None  # None: a false alarm (proposals only)
    edit: Any = None  # the EditView of a revert


@dataclass
class ApplyResult:
    applied: list[Planned] = field(default_factory=list)  # decisions in effect (their change is in the text)
    new: list[str] = field(default_factory=list)  # ids of decisions applied for the first time
    conflicts: list[TargetState] = field(default_factory=list)
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    review_edits: int = 0
    proposals_path: Path | None = None
    proposals: Proposals | None = None
    proposals_written: bool = False
    proposal_issues: list[RuleIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.level == "error" for i in self.proposal_issues)


def apply_review_edits(text: str, records: list[dict[str, Any]]) -> str:
    """Apply "review" records (offsets into the pre-review text) to the pre-review text."""
    out = text
    for r in sorted(records, key=lambda r: (r["start"], r["end"]), reverse=True):
        if out[r["start"] : r["end"]] != r["before"]:
            raise ValueError(f"review edit at {r['start']} does not match the text")
        out = out[: r["start"]] + r["after"] + out[r["end"] :]
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- planning -----------------------------------------------------------------------------------
def _plan(view: RunView, states: dict[str, TargetState], result: ApplyResult) -> list[Planned]:
    planned: list[Planned] = []
    for key in sorted(states):
        st = states[key]
        if st.conflict:
            result.conflicts.append(st)
            continue
        d = st.decision
        if d is None:
            continue
        flag = view.flags.get(d.get("flag")) if isinstance(d.get("flag"), str) else None
        if flag is None:
            result.skipped.append((d, "stale: the flag is not in this run"))
            continue
        action = d.get("action")
        if action == "false-alarm":
            planned.append(Planned(d, st, flag))
            continue
        text = flag.doc.text
        if action == "revert":
            found = view.edits.get(d.get("edit")) if isinstance(d.get("edit"), str) else None
            change = found[1].revert_change() if found else None
            if change is None:
                result.skipped.append((d, "stale: the edit is not in this run or cannot be placed"))
                continue
            planned.append(Planned(d, st, flag, change, found[1]))
            continue
        change = Change.from_json(d.get("change"))
        if change is None or text is None or text[change.start : change.end] != change.before \
                or not (flag.start <= change.start <= change.end <= flag.end) or not flag.located:
            result.skipped.append((d, "the text is not where the decision says (was the run redone?)"))
            continue
        planned.append(Planned(d, st, flag, change))
    return planned


def _without_overlaps(planned: list[Planned], result: ApplyResult) -> list[Planned]:
    by_doc: dict[Any, list[Planned]] = {}
    out: list[Planned] = []
    for p in planned:
        if p.change is None:
            out.append(p)
        else:
            by_doc.setdefault(p.flag.doc.key, []).append(p)
    for items in by_doc.values():
        items.sort(key=lambda p: (p.change.start, p.change.end, str(p.decision.get("time", ""))))
        kept: list[Planned] = []
        for p in items:
            c = p.change
            clash = next((k for k in kept if (k.change.start < c.end and c.start < k.change.end)
                          or k.change.start == c.start), None)
            if clash is not None:
                result.skipped.append((p.decision, f"overlaps the change of decision {clash.decision.get('id')} "
                                                   f"({clash.state.key})"))
                continue
            kept.append(p)
        out.extend(kept)
    return out


# -- writing ------------------------------------------------------------------------------------
def _doc_bytes(view: RunView, rel: str, source: bytes, new_texts: dict[int, str]) -> bytes:
    """The file ``rel`` with its documents' new texts (by ordinal), from its pre-review bytes."""
    if not new_texts:
        return source
    if not rel.endswith((".jsonl", ".jsonl.gz")):
        return new_texts[0].encode("utf-8")
    gz = rel.endswith(".gz")
    records = read_records(source, gz)
    for n, text in new_texts.items():
        if not 0 <= n < len(records):
            raise ApplyError(f"{rel}: has {len(records)} records but documents.jsonl lists more; "
                             "is it the output of this run?")
        obj = json.loads(records[n].decode("utf-8"))
        obj[view.text_field] = text
        records[n] = dumps_record(obj).encode("utf-8")
    data = b"".join(r + b"\n" for r in records)
    return gzip_bytes(data) if gz else data


def _review_record(p: Planned) -> dict[str, Any]:
    d, c, doc = p.decision, p.change, p.flag.doc
    rec: dict[str, Any] = {"file": doc.file}
    if doc.line is not None:
        rec["line"] = doc.line
    who = d.get("reviewer")
    if d.get("action") == "accept":
        why = f"{who} accepted the {d.get('code')} suggestion"
    elif d.get("action") == "correct":
        why = f"{who} corrected the sentence"
    else:
        why = f"{who} reverted {p.edit.rec.get('pass')}/{p.edit.rec.get('rule')}"
    rec.update({"pass": "review", "rule": d.get("action"), "action": "review", "start": c.start, "end": c.end,
                "before": c.before, "after": c.after, "confidence": 1.0, "reason": why, "reviewer": who,
                "time": d.get("time"), "decision": d.get("id"), "flag": p.flag.id})
    if p.edit is not None:
        rec["edit"] = p.edit.id
    return rec


def _rewrite_edits(meta: Path, records: list[dict[str, Any]]) -> None:
    """edits.jsonl: the run's own lines as they are, then the review records."""
    path = meta / "edits.jsonl"
    tmp = meta / f".edits.jsonl.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as src:
                for raw in src:
                    if b'"review"' in raw:
                        try:
                            if json.loads(raw).get("action") == "review":
                                continue
                        except (ValueError, AttributeError):
                            pass
                    out.write(raw if raw.endswith(b"\n") else raw + b"\n")
            for r in records:
                out.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
        os.chmod(tmp, 0o644)
        if path.exists() and path.read_bytes() == tmp.read_bytes():
            tmp.unlink()
            return
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_documents(view: RunView, kept: list[Planned], result: ApplyResult) -> list[dict[str, Any]]:
    out_dir, meta = view.out_dir, view.meta
    changes: dict[Any, list[Planned]] = {}
    for p in kept:
        if p.change is not None:
            changes.setdefault(p.flag.doc.key, []).append(p)
    files: dict[str, dict[int, str]] = {}
    records: list[dict[str, Any]] = []
    order = {k: i for i, k in enumerate(view.docs)}
    for key in sorted(changes, key=lambda k: order.get(k, 0)):
        items = sorted(changes[key], key=lambda p: (p.change.start, p.change.end))
        doc: Doc = items[0].flag.doc
        text = doc.text or ""
        for p in reversed(items):
            text = text[: p.change.start] + p.change.after + text[p.change.end :]
        files.setdefault(doc.file, {})[doc.ordinal] = text
        records.extend(_review_record(p) for p in items)
    manifest = view.manifest
    touched = sorted(set(files) | set(manifest["files"]))
    # 1. pre-review copies, and the manifest with the hash of what is about to be written, before
    #    any output changes: an interrupted apply can always start again from the copies
    writes: dict[str, bytes] = {}
    for rel in touched:
        src = prereview_source(out_dir, rel, manifest)
        if src is None:
            raise ApplyError(f"{rel}: not a file of this run's output")
        source = src.read_bytes()
        if rel not in manifest["files"]:
            atomic_write(meta / PREREVIEW_DIR / rel, source)
            manifest["files"][rel] = {"pre": _sha(source), "out": [], "run": view.digests.get(rel, "")}
        data = _doc_bytes(view, rel, source, files.get(rel, {}))
        entry = manifest["files"][rel]
        entry["out"] = [x for x in entry["out"] if x != _sha(data)] + [_sha(data)]
        writes[rel] = data
    if touched:
        atomic_write(meta / PREREVIEW_MANIFEST,
                     (json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    # 2. the documents
    for rel, data in writes.items():
        target = out_dir / rel
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            current = None
        if current != data:
            atomic_write(target, data)
            result.files_written.append(rel)
    # 3. the audit trail
    _rewrite_edits(meta, records)
    result.review_edits = len(records)
    return records


def _record_applied(meta: Path, kept: list[Planned], result: ApplyResult) -> None:
    path = meta / APPLIED
    done: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError, AttributeError):
            done.add(json.loads(raw).get("decision"))
    stamp = now_iso()
    lines = []
    for p in kept:
        d = p.decision
        if d.get("id") in done:
            continue
        result.new.append(str(d.get("id")))
        lines.append(json.dumps({"decision": d.get("id"), "target": p.state.key, "action": d.get("action"),
                                 "reviewer": d.get("reviewer"), "time": d.get("time"), "applied": stamp,
                                 "file": p.flag.doc.file, "line": p.flag.doc.line,
                                 "effect": "text" if p.change is not None else "proposals"},
                                ensure_ascii=False) + "\n")
    if lines:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())


# -- proposals ------------------------------------------------------------------------------------
def _proposals_target(view: RunView, rules_dir: Path | None, path: Path | None) -> tuple[Path, Path] | None:
    """The rules directory and the proposals file; checked before anything is written."""
    rules_dir = rules_dir or (Path(view.rules_dir) if view.rules_dir else None)
    if rules_dir is None:
        return None
    path = path or rules_dir / "gazetteer" / PROPOSALS_NAME
    if path.exists():
        with open(path, encoding="utf-8", errors="replace") as fh:
            if fh.readline().rstrip("\n") != MARKER:
                raise ApplyError(f"{path}: not a proposals file written by normalize apply; not overwritten")
    return rules_dir, path


def _proposals(view: RunView, states: dict[str, TargetState], target: tuple[Path, Path] | None,
               n_decisions: int, result: ApplyResult) -> None:
    if target is None:
        result.notes.append("no rules directory recorded in summary.json: pass --rules to get gazetteer proposals")
        return
    rules_dir, path = target
    result.proposals_path = path
    rules = RuleSet.load(rules_dir)
    broken = [i for i in rules.errors if not i.file.endswith(path.name)]
    if broken or not rules.root.is_dir():
        result.proposal_issues.extend(broken or rules.errors)
        result.notes.append(f"the rules in {rules_dir} have errors: no proposals written")
        return
    base = base_rules(rules, path)
    builder = Builder(Gazetteer.from_rules(base, []), rules.english)
    for key in sorted(states):
        d = states[key].decision  # conflicts give none
        if d is not None:
            builder.add(d)
    result.proposals = builder.p
    result.notes.extend(builder.p.notes)
    header = [f"Gazetteer changes proposed by reviewers of the run in {view.out_dir.resolve()}",
              f"(from {n_decisions} decisions in {META_DIR}/decisions.jsonl). Rewritten by every `normalize apply`.",
              "A curator moves what is right into the curated files (it is then left out of this file)",
              "and runs `normalize rules check`. Format: docs/gazetteer.md; provenance in the comments."]
    text = render(builder.p, header)
    if not len(builder.p) and not path.exists():
        return
    scratch = view.meta / f".proposals-check.{os.getpid()}.yaml"
    try:
        issues = validate(text, base, path.name, scratch)
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    result.proposal_issues.extend(issues)
    if any(i.level == "error" for i in issues):
        result.notes.append(f"the proposals would break `rules check`: {path} not written")
        return
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current != text:
        atomic_write(path, text.encode("utf-8"))
    result.proposals_written = True


def apply_decisions(out_dir: Path | str, rules_dir: Path | str | None = None,
                    proposals: Path | str | None = None) -> ApplyResult:
    """Apply the decisions in OUT/_normalize/decisions.jsonl; see the module's docstring."""
    out_dir = Path(out_dir)
    decisions = DecisionStore(out_dir).load()
    # only the files the decisions are about, and those an earlier apply changed, are read (the
    # whole run when a decision does not say its file: one not written by the review app)
    files: set[str] | None = {d["file"] for d in decisions if isinstance(d.get("file"), str)} | prereview_files(out_dir)
    if any(not isinstance(d.get("file"), str) for d in decisions):
        files = None
    try:
        view = RunView(out_dir, files=files)
    except FileNotFoundError as exc:
        raise ApplyError(str(exc)) from None
    target = _proposals_target(view, Path(rules_dir) if rules_dir else None, Path(proposals) if proposals else None)
    result = ApplyResult()
    states = effective(decisions)
    planned = _plan(view, states, result)
    kept = _without_overlaps(planned, result)
    _write_documents(view, kept, result)
    result.applied = kept
    _record_applied(view.meta, kept, result)
    _proposals(view, states, target, len(decisions), result)
    return result
