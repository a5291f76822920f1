"""What a run would do, without doing it (``normalize run IN OUT --dry-run``).

:func:`preview` makes the plan a run would make (:func:`normalize.runner.plan`: the same walk of
IN, the same records of OUT, the same hashing of the files whose identity changed) and says,
for every file the run would clean, why: it has no result yet, its bytes changed, the rules,
settings or version changed since it was cleaned, its output is gone... It writes nothing:
OUT is not created, no lock is taken, no record or index is touched, and no seek points are
built for a ``.jsonl.gz`` to be cut. The rules are read (and checked) only when the run would
need them, as a run does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .partlog import PartLogs, Record
from .runner import (
    META_DIR,
    PARTS_DIR,
    PARTS_INDEX,
    RunOptions,
    Unit,
    _OutputFiles,
    check_paths,
    effective_threshold,
    inputs_of,
    plan,
    run_key,
)

#: why a run would clean a file, by the word ``--dry-run`` prints (a file whose results were
#: made with other rules, settings and version at once gets the words joined: ``rules+settings``)
WHY = {
    "new": "OUT holds no result of it",
    "changed": "its bytes are not those its result was made from",
    "rules": "the rules changed since its result was made",
    "settings": "a setting that changes the output changed since (--only, --skip, --threshold, "
                "--no-flagger, --text-field, --max-document-mb)",
    "version": "its result was made by another version of normalize",
    "other-run": "its result was made by a run other than the last one, with other rules, settings or version",
    "cut": "it is cut into chunks otherwise than when its result was made (another --chunk-mb)",
    "incomplete": "some of its chunks have no result (a run stopped before it finished)",
    "missing": "its output file is gone from OUT",
    "forced": "--force redoes every file",
}


@dataclass
class Preview:
    """What ``run`` would do over IN and OUT as they are (:func:`preview`)."""

    #: (why, file) of each file the run would clean, in the order it would plan them (see :data:`WHY`)
    todo: list[tuple[str, str]] = field(default_factory=list)
    #: how many chunks each file to clean would be cut into, for those cut into more than one
    chunks: dict[str, int] = field(default_factory=dict)
    #: the bytes of the files to clean
    todo_bytes: int = 0
    #: files whose result is current: the run would reuse them
    reused: int = 0
    #: (file, problem) of the files the run would fail without reading them (a link out of IN,
    #: a FIFO, a file it cannot read), and of those it would only warn about (``warnings``)
    failing: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: outputs whose input is gone (the run reports them; ``--prune`` removes them)
    stale: list[str] = field(default_factory=list)
    #: what changed since the last run finished, as ``name: old -> new`` (rules, version, settings)
    changes: list[str] = field(default_factory=list)
    plan_seconds: float = 0.0

    @property
    def files(self) -> int:
        """The files the run would plan: to clean, reused, failing."""
        return len(self.todo) + self.reused + len(self.failing)


def preview(in_dir: str | Path, out_dir: str | Path, options: RunOptions) -> Preview:
    """What ``run(in_dir, out_dir, options)`` would do now, with nothing written anywhere."""
    t0 = time.perf_counter()
    inputs, out = inputs_of(in_dir), Path(out_dir)
    check_paths(inputs, out)
    meta = out / META_DIR
    if not (meta / PARTS_DIR).is_dir():  # nothing to reuse: the rules will be needed, so check them first (as run does)
        options.loaded_rules()
    threshold = effective_threshold(options)
    key = run_key(options, threshold)
    logs = PartLogs.restore(str(meta / PARTS_DIR), str(meta / PARTS_INDEX), live=False)
    last = _last_summary(meta)
    diff = _differences(last, options, threshold)
    last_key = last.get("run_key")
    outputs = _OutputFiles(str(out))
    got = Preview(changes=[f"{name}: {old} -> {new}" for _code, name, old, new in diff])
    codes = "+".join(dict.fromkeys(code for code, *_ in diff)) or "version"
    for unit in plan(inputs, logs, out, options, key, dry=True):
        if unit.problem is not None:
            (got.warnings if unit.warning else got.failing).append((unit.rel, unit.problem))
        elif unit.chunk:
            continue
        elif unit.reuse:
            got.reused += 1
        else:
            known = logs.get(unit.rel, 0)
            why = _why(unit, known, logs, key, options.force, outputs, last_key, codes)
            got.todo.append((why, unit.rel))
            got.todo_bytes += max(unit.size, 0)
            if unit.chunks > 1:
                got.chunks[unit.rel] = unit.chunks
    got.stale = sorted({rel for rel, chunk in logs.gone() if chunk == 0})
    if got.todo:
        options.loaded_rules()  # (a run that has work reads and checks them: a broken rules directory is found now)
    got.plan_seconds = time.perf_counter() - t0
    return got


def _why(unit: Unit, known: Record | None, logs: PartLogs, key: str, force: bool, outputs: _OutputFiles,
         last_key: str | None, codes: str) -> str:
    """The word of :data:`WHY` for a file the plan did not reuse (``known``: its chunk 0's record;
    ``codes``: what changed since the last run, whose run key is ``last_key``). OUT is looked
    at only for a file whose records are all current."""
    if force:
        return "forced"
    if known is None:
        return "new"
    if known.key != key:
        return codes if known.key == last_key else "other-run"
    if unit.sha256 and known.sha256 != unit.sha256:
        return "changed"
    if known.chunks != unit.chunks:
        return "cut"
    if not all((rec := known if i == 0 else logs.get(unit.rel, i)) is not None
               and (rec.sha256, rec.key, rec.chunks) == (known.sha256, key, unit.chunks) for i in range(unit.chunks)):
        return "incomplete"
    return "cut" if outputs.has(unit.rel) else "missing"  # (current records, the output there: chunks moved)


def _last_summary(meta: Path) -> dict[str, Any]:
    """The summary.json of the last run that finished over OUT ({} if none, or unreadable)."""
    try:
        got = json.loads((meta / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def _differences(last: dict[str, Any], options: RunOptions, threshold: float | None
                 ) -> list[tuple[str, str, Any, Any]]:
    """(code, name, before, now) of what changed since the ``last`` run's summary: the version,
    the rules' version, each setting that changes the output (none without a summary)."""
    if not last:
        return []
    out: list[tuple[str, str, Any, Any]] = []
    version = (last.get("tool") or {}).get("version")
    if version != __version__:
        out.append(("version", "version", version, __version__))
    rules = (last.get("rules") or {}).get("version")
    if rules != options.rules.version:
        out.append(("rules", "rules", rules, options.rules.version))
    before, now = last.get("config") or {}, {**options.config(), "threshold": threshold}
    for name in sorted(before.keys() | now.keys()):
        if before.get(name) != now.get(name):
            out.append(("settings", name, _shown(before.get(name)), _shown(now.get(name))))
    return out


def _shown(value: Any) -> str:
    """A setting's value as the command line spells it (a list comma-separated)."""
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return json.dumps(value) if isinstance(value, bool) else str(value)
