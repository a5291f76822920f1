"""Batch runs: mirror IN to OUT, clean every document, write the audit trail and summary.

The main process walks IN in a fixed order and hands files to worker processes (``--jobs``);
results come back in the same order, so every output file is deterministic. Each document's
output is written atomically; the run's own files (OUT/_normalize/) are written to temporary
names and renamed when the run ends.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .io import (
    InputError,
    atomic_write,
    dumps_record,
    gzip_bytes,
    input_kind,
    iter_jsonl,
    read_text_file,
)
from .pipeline import Normalizer
from .report import write_report
from .rules import RuleSet

META_DIR = "_normalize"


class UsageError(Exception):
    """A problem with the command line or configuration: nothing is written (exit 2)."""


@dataclass
class RunOptions:
    rules: RuleSet
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    jobs: int = 0
    text_field: str = "text"
    quiet: bool = False
    threshold: float | None = None
    flagger: bool = True

    def config(self) -> dict[str, Any]:
        return {"only": self.only, "skip": self.skip, "text_field": self.text_field,
                "threshold": self.threshold, "flagger": self.flagger}


@dataclass
class DocOutcome:
    info: dict[str, Any]
    edits: list[dict[str, Any]]
    flags: list[dict[str, Any]]


@dataclass
class FileOutcome:
    rel: str
    documents: list[DocOutcome] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    seen: int = 0


@dataclass
class RunResult:
    summary: dict[str, Any]
    exit_code: int


# -- discovery -----------------------------------------------------------------------------
def check_paths(in_dir: Path, out_dir: Path) -> None:
    if not in_dir.is_dir():
        raise UsageError(f"input directory {str(in_dir)!r} does not exist")
    rin, rout = in_dir.resolve(), out_dir.resolve()
    if rout == rin or rin in rout.parents:
        raise UsageError("OUT may not be IN or inside it: the input is never modified")
    if rout in rin.parents:
        raise UsageError("IN may not be inside OUT: outputs could overwrite inputs")


def discover(in_dir: Path) -> Iterator[tuple[str, str | None]]:
    """Yield (relative path, problem) for every input file, in a fixed order.

    Symbolic links are never followed out of IN; directories are not followed through links.
    """
    root = in_dir.resolve()
    for dirpath, dirnames, filenames in os.walk(in_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != META_DIR)
        for name in sorted(filenames):
            if input_kind(name) is None:
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(in_dir).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if root not in target.parents:
                    yield rel, "symbolic link points outside the input directory; not followed"
                    continue
            yield rel, None


# -- the worker ----------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def _init_worker(options: RunOptions, in_dir: Path, out_dir: Path) -> None:
    if _STATE.get("options") is not options:
        _STATE["normalizer"] = Normalizer(options.rules, only=options.only, skip=options.skip,
                                          flagger=options.flagger, threshold=options.threshold)
        _STATE["normalizer"].preload()
    _STATE.update(options=options, in_dir=in_dir, out_dir=out_dir)


def process_file(item: tuple[str, str | None]) -> FileOutcome:
    rel, problem = item
    out = FileOutcome(rel)
    if problem:
        out.seen = 1
        out.errors.append({"file": rel, "error": "skipped", "message": problem})
        return out
    try:
        if input_kind(rel) == ".txt":
            _process_txt(rel, out)
        else:
            _process_jsonl(rel, out)
    except Exception as exc:
        # a file's output is written only at its end, so none of its documents were written
        out.errors.append(_error(rel, None, exc))
        out.seen = max(out.seen, 1)
        out.documents = []
    return out


def _error(rel: str, line: int | None, exc: BaseException) -> dict[str, Any]:
    row: dict[str, Any] = {"file": rel}
    if line is not None:
        row["line"] = line
    if isinstance(exc, InputError):
        row.update(error="input", message=str(exc))
    elif isinstance(exc, OSError):
        row.update(error="io", message=f"{type(exc).__name__}: {exc.strerror or exc}")
    else:
        tb = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(tb[0].filename).name}:{tb[0].lineno}" if tb else ""
        row.update(error="internal", message=f"{type(exc).__name__}: {exc}{where}")
    return row


def _clean(rel: str, line: int | None, text: str, encoding: str | None,
           out: FileOutcome) -> tuple[str, DocOutcome]:
    normalizer: Normalizer = _STATE["normalizer"]
    res = normalizer.clean(text, path=rel)
    for name, secs in res.timings.items():
        out.timings[name] = out.timings.get(name, 0.0) + secs
    info: dict[str, Any] = {"file": rel}
    if line is not None:
        info["line"] = line
    if encoding:
        info["encoding"] = encoding
    info.update(chars_in=len(text), chars_out=len(res.text), edits=len(res.edits),
                flags=len(res.flags), metadata=res.metadata)
    doc = DocOutcome(info, [e.to_json(rel, line) for e in res.edits],
                     [f.to_json(rel, line) for f in res.flags])
    return res.text, doc


def _process_txt(rel: str, out: FileOutcome) -> None:
    in_dir: Path = _STATE["in_dir"]
    out_dir: Path = _STATE["out_dir"]
    out.seen = 1
    decoded = read_text_file(in_dir / rel)
    text, doc = _clean(rel, None, decoded.text, decoded.encoding, out)
    atomic_write(out_dir / rel, text.encode("utf-8"))
    out.documents.append(doc)


def _process_jsonl(rel: str, out: FileOutcome) -> None:
    in_dir: Path = _STATE["in_dir"]
    out_dir: Path = _STATE["out_dir"]
    field_name = _STATE["options"].text_field
    buf = io.StringIO()
    for rec in iter_jsonl(in_dir / rel, field_name):
        out.seen += 1
        if rec.obj is None:
            out.errors.append({"file": rel, "line": rec.line, "error": "input",
                               "message": rec.error, "raw": rec.raw[:10000]})
            continue
        try:
            text, doc = _clean(rel, rec.line, rec.obj[field_name], None, out)
        except Exception as exc:
            out.errors.append(_error(rel, rec.line, exc))
            continue
        obj = dict(rec.obj)
        obj[field_name] = text
        buf.write(dumps_record(obj))
        buf.write("\n")
        out.documents.append(doc)
    data = buf.getvalue().encode("utf-8")
    atomic_write(out_dir / rel, gzip_bytes(data) if rel.endswith(".gz") else data)


# -- the main process ------------------------------------------------------------------------
FLAG_CSV_FIELDS = ["file", "line", "start", "end", "confidence", "reasons", "messages",
                   "suggestions", "text"]


def csv_safe(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would execute (leading = + - @, tab or CR)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def flag_csv_row(flag: dict[str, Any]) -> list[Any]:
    reasons = flag["reasons"]
    return [csv_safe(v) for v in (
        flag["file"], flag.get("line", ""), flag["start"], flag["end"], flag["confidence"],
        "; ".join(r["code"] for r in reasons), "; ".join(r["message"] for r in reasons),
        "; ".join(r["suggestion"] for r in reasons if r.get("suggestion")), flag["text"],
    )]


class _Sink:
    """An output file of the run, written under a temporary name and renamed at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)


def run(in_dir: Path | str, out_dir: Path | str, options: RunOptions) -> RunResult:
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_paths(in_dir, out_dir)
    t0 = time.perf_counter()
    meta = out_dir / META_DIR
    meta.mkdir(parents=True, exist_ok=True)
    sinks = {name: _Sink(meta / name) for name in
             ("edits.jsonl", "flags.jsonl", "flags.csv", "errors.jsonl", "documents.jsonl")}
    csv_writer = csv.writer(sinks["flags.csv"].fh)
    csv_writer.writerow(FLAG_CSV_FIELDS)

    counts: Counter[str] = Counter()
    by_pass: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    pass_seconds: Counter[str] = Counter()
    errors_by_kind: Counter[str] = Counter()
    files_failed: set[str] = set()

    jobs = options.jobs or os.cpu_count() or 1
    items = discover(in_dir)
    progress = _progress(options.quiet)
    # built once, here: forked workers inherit the loaded rules, automata and models
    _init_worker(options, in_dir, out_dir)
    threshold = _STATE["normalizer"].threshold
    if jobs == 1:
        results: Iterator[FileOutcome] = map(process_file, items)
        pool = None
    else:
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(options, in_dir, out_dir))
        results = pool.imap(process_file, items, chunksize=2)
    try:
        for outcome in results:
            counts["files_seen"] += 1
            counts["documents_seen"] += outcome.seen
            counts["documents_written"] += len(outcome.documents)
            counts["documents_failed"] += outcome.seen - len(outcome.documents)
            for doc in outcome.documents:
                counts["chars_in"] += doc.info["chars_in"]
                counts["chars_out"] += doc.info["chars_out"]
                sinks["documents.jsonl"].fh.write(json.dumps(doc.info, ensure_ascii=False) + "\n")
                for e in doc.edits:
                    sinks["edits.jsonl"].fh.write(json.dumps(e, ensure_ascii=False) + "\n")
                    by_pass[e["pass"]] += 1
                    by_rule[f"{e['pass']}/{e['rule']}"] += 1
                    by_action[e["action"]] += 1
                counts["flags"] += len(doc.flags)
                for f in doc.flags:
                    sinks["flags.jsonl"].fh.write(json.dumps(f, ensure_ascii=False) + "\n")
                    csv_writer.writerow(flag_csv_row(f))
                    for r in f["reasons"]:
                        by_reason[r["code"]] += 1
            for err in outcome.errors:
                sinks["errors.jsonl"].fh.write(json.dumps(err, ensure_ascii=False) + "\n")
                errors_by_kind[err["error"]] += 1
                files_failed.add(outcome.rel)
            pass_seconds.update(outcome.timings)
            if progress is not None:
                progress.update(1)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        if progress is not None:
            progress.close()
    for sink in sinks.values():
        sink.commit()

    summary = {
        "tool": {"name": "normalize", "version": __version__},
        "rules": {"dir": str(options.rules.root), "version": options.rules.version},
        "config": {**options.config(), "threshold": threshold},
        "input": str(in_dir),
        "output": str(out_dir),
        "files": {"seen": counts["files_seen"], "with_errors": len(files_failed)},
        "documents": {"seen": counts["documents_seen"], "written": counts["documents_written"],
                      "failed": counts["documents_failed"]},
        "characters": {"input": counts["chars_in"], "output": counts["chars_out"]},
        "edits": {"total": sum(by_action.values()), "by_action": dict(sorted(by_action.items())),
                  "by_pass": dict(sorted(by_pass.items())), "by_rule": dict(sorted(by_rule.items()))},
        "flags": {"total": counts["flags"], "by_reason": dict(sorted(by_reason.items()))},
        "errors": {"total": sum(errors_by_kind.values()), "by_kind": dict(sorted(errors_by_kind.items()))},
        "timings": {"wall_seconds": round(time.perf_counter() - t0, 3), "jobs": jobs,
                    "pass_cpu_seconds": {k: round(v, 4) for k, v in sorted(pass_seconds.items())}},
    }
    atomic_write(meta / "summary.json", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    write_report(out_dir)
    return RunResult(summary, 1 if counts["documents_failed"] else 0)


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="file", desc="normalize", dynamic_ncols=True)
