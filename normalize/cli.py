"""The command line: a thin layer over :mod:`normalize.pipeline` and :mod:`normalize.runner`.

Exit codes: 0 all documents processed; 1 some documents failed (the rest still written);
2 usage or configuration error (nothing written).
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .io import SUFFIXES
from .model import PASS_NAMES
from .rules import RuleSet, default_rules_dir
from .runner import MAX_DOCUMENT_BYTES, RunOptions, UsageError, inputs_of, other_files, printable_rel, run

if TYPE_CHECKING:
    from .preview import Preview

#: Keys a --config file may set (in a [normalize] or [tool.normalize] table, or at the top).
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "rules": str, "jobs": int, "only": list, "skip": list, "text_field": str, "quiet": bool,
    "threshold": (float, int), "flagger": bool, "engine": str, "scheduler": str, "chunk_mb": (float, int),
    "max_document_mb": (float, int), "checksum": bool,
}


def _mib(mb: float) -> int:
    """A size given in MiB (``--chunk-mb``, ``--max-document-mb``) in bytes."""
    if mb <= 0:
        raise UsageError(f"a size in MB must be positive, not {mb}")
    return int(mb * 1024 * 1024)


class _Stopped(BaseException):
    """A run stopped by Ctrl-C (SIGINT) or SIGTERM (kill, timeout, a batch scheduler). A
    BaseException, as KeyboardInterrupt is: no ``except Exception`` on its way may take it for
    a document's error."""

    def __init__(self, signum: int, what: str) -> None:
        super().__init__(what)
        self.signum = signum


#: seconds after a run is told to stop during which another Ctrl-C or SIGTERM is ignored
STOP_GRACE = 5.0


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM and Ctrl-C into :class:`_Stopped`, so that the run ends as it does on any
    error (its workers end at once, temporary files go, the lock is let go) and the command
    exits 128 + the signal's number (143, 130) with a word on how to go on. A second signal
    within :data:`STOP_GRACE` seconds of the one that stops the run is ignored: it would cut the
    stopping short (which takes a fraction of a second). One later stops the run again: the
    first may have been lost (Python swallows an exception raised while a finalizer runs), and
    the run would otherwise go on, deaf to Ctrl-C."""
    stopped_at: float | None = None

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopped_at
        now = time.monotonic()
        if stopped_at is not None and now - stopped_at < STOP_GRACE:
            return
        stopped_at = now
        raise _Stopped(signum, "interrupted (Ctrl-C)" if signum == signal.SIGINT else "stopped (SIGTERM)")

    try:
        before = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread (the command run from a thread): leave them be
        before = {}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


#: a run stopped by the system refusing a read or write (a full disk, a quota, a file system
#: gone read-only): sysexits.h's EX_IOERR
EXIT_IO = 74


def _os_error(exc: OSError) -> str:
    """"No space left on device (ENOSPC) at PATH", from an OSError raised here or in a worker."""
    name = errno.errorcode.get(exc.errno or 0)
    where = f" at {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{f' ({name})' if name else ''}{where}"


def _fail(message: str) -> None:
    click.echo(f"normalize: error: {message}", err=True)
    sys.exit(2)


def _pass_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in PASS_NAMES]
    if unknown:
        raise click.BadParameter(f"unknown pass {', '.join(unknown)} (passes: {', '.join(PASS_NAMES)})")
    return names


def load_config(path: Path) -> dict[str, Any]:
    """Read a TOML config; precedence is command line > this file > defaults."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("normalize") if "tool" in data else data.get("normalize", data)
    table = table or {}
    out: dict[str, Any] = {}
    for key, value in table.items():
        key_norm = key.replace("-", "_")
        if key_norm not in CONFIG_KEYS:
            raise UsageError(f"{path}: unknown setting {key!r} (settings: {', '.join(sorted(CONFIG_KEYS))})")
        want = CONFIG_KEYS[key_norm]
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            kind = "number" if isinstance(want, tuple) else want.__name__
            raise UsageError(f"{path}: setting {key!r} must be a {kind}")
        if key_norm == "threshold" and not 0 <= value <= 1:
            raise UsageError(f"{path}: setting {key!r} must be between 0 and 1")
        out[key_norm] = value
    if "rules" in out:
        out["rules"] = str((path.parent / out["rules"]).resolve())
    return out


def load_rules(rules_dir: str | None) -> RuleSet:
    rules = RuleSet.load(rules_dir)
    for issue in rules.issues:
        click.echo(str(issue), err=True)
    if rules.errors:
        _fail(f"the rules in {rules.root} have {len(rules.errors)} error(s); nothing was written")
    return rules


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="normalize")
def main() -> None:
    """Clean and normalize machine-translated news articles, with a record of every change."""


@main.command("run")
@click.argument("in_dir", metavar="IN")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False), help="Rules directory (default: the bundled rules/).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML settings: rules, jobs, only, skip, text_field, threshold, flagger, engine, scheduler, chunk_mb, "
                   "max_document_mb, checksum, quiet.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Worker processes (default: every core this process may use, after its CPU affinity "
                   "and any container CPU quota).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default=None,
              help="Execution engine: local worker processes (default) or a Dask cluster.")
@click.option("--scheduler", metavar="ADDR",
              help="Dask scheduler address (tcp://HOST:8786); without it --engine dask starts a local cluster.")
@click.option("--force", is_flag=True, help="Redo every document, even those whose result is current.")
@click.option("--prune", is_flag=True, help="Remove outputs whose input is gone (they are always reported).")
@click.option("--checksum", is_flag=True, default=None,
              help="Hash every input to find what changed, even one whose size, times and inode are those "
                   "recorded when it was last read (as rsync's --checksum).")
@click.option("--chunk-mb", type=click.FloatRange(min=0.001), default=None,
              help="Split .jsonl files larger than this into chunks, and .jsonl.gz files over a quarter of it "
                   "(default 8).")
@click.option("--max-document-mb", type=click.FloatRange(min=0.001), default=None,
              help="Fail documents (a .txt file, a JSONL line) larger than this as too-large, unread (default 8).")
@click.option("--only", help="Run only these passes (comma-separated).")
@click.option("--skip", help="Skip these passes (comma-separated).")
@click.option("--text-field", help="JSONL field holding the text (default: text).")
@click.option("--threshold", type=click.FloatRange(0, 1),
              help="Flag sentences whose confidence is at most T (default: the fitted one; 1 flags every sentence).")
@click.option("--flagger/--no-flagger", default=None,
              help="Score every sentence (default) or flag only the passes' suggestions.")
@click.option("--dry-run", "-n", is_flag=True,
              help="Write nothing: print each file the run would clean, with why (new, changed, rules, "
                   "settings...), and each output whose input is gone; a summary on stderr.")
@click.option("--quiet", "-q", is_flag=True, default=None, help="No progress bar or summary line.")
def run_cmd(in_dir: str, out_dir: Path, rules_dir: str | None, config_file: Path | None,
            jobs: int | None, engine: str | None, scheduler: str | None, force: bool, prune: bool,
            checksum: bool | None, chunk_mb: float | None, max_document_mb: float | None, only: str | None, skip: str | None,
            text_field: str | None, threshold: float | None, flagger: bool | None,
            dry_run: bool, quiet: bool | None) -> None:
    """Clean every .txt, .jsonl and .jsonl.gz file under IN into OUT (same relative paths).

    IN is a directory, or a URL that fsspec can read (s3://bucket/news, with s3fs installed);
    OUT is a directory.

    OUT/_normalize/ receives edits.jsonl, flags.jsonl, flags.csv, report.html, documents.jsonl,
    errors.jsonl and summary.json.
    """
    try:
        cfg = load_config(config_file) if config_file else {}
        only_l = _pass_list(only) if only is not None else cfg.get("only")
        skip_l = _pass_list(skip) if skip is not None else cfg.get("skip")
        for name in [*(only_l or []), *(skip_l or [])]:
            if name not in PASS_NAMES:
                raise UsageError(f"unknown pass {name!r} (passes: {', '.join(PASS_NAMES)})")
        # read and checked only when a document needs cleaning (a re-run with nothing new does not)
        rules = RuleSet.shell(rules_dir or cfg.get("rules"))
        options = RunOptions(
            rules=rules, load_rules=lambda root: load_rules(str(root)), only=only_l or [], skip=skip_l or [],
            jobs=jobs or cfg.get("jobs", 0), text_field=text_field or cfg.get("text_field", "text"),
            quiet=quiet if quiet is not None else cfg.get("quiet", False),
            threshold=threshold if threshold is not None else cfg.get("threshold"),
            flagger=flagger if flagger is not None else cfg.get("flagger", True),
            force=force, prune=prune, checksum=checksum if checksum is not None else cfg.get("checksum", False),
            engine=engine or cfg.get("engine", "local"),
            scheduler=scheduler or cfg.get("scheduler"),
            chunk_bytes=_mib(chunk_mb if chunk_mb is not None else cfg.get("chunk_mb", 8)),
            max_document_bytes=_mib(max_document_mb if max_document_mb is not None
                                    else cfg.get("max_document_mb", MAX_DOCUMENT_BYTES / 1024 / 1024)),
        )
        if options.scheduler and options.engine != "dask":
            raise UsageError("--scheduler needs --engine dask")
        if dry_run:
            from .preview import preview

            _print_preview(preview(in_dir, out_dir, options), in_dir, options)
            return
        with _stopped_by_signals():
            result = run(in_dir, out_dir, options)
    except UsageError as exc:
        _fail(str(exc))
        return
    except _Stopped as exc:
        for sig in (signal.SIGINT, signal.SIGTERM):  # (the message and the exit are not to be cut short)
            signal.signal(sig, signal.SIG_IGN)
        click.echo(f"normalize: {exc}; the files finished so far are kept and no partial file is visible: "
                   "run the same command again to finish", err=True)
        sys.exit(128 + exc.signum)
    except OSError as exc:  # the machine's, not a document's (those are errors.jsonl lines): a full disk, say
        click.echo(f"normalize: error: {_os_error(exc)}; no partial file is visible (any finished file is "
                   "kept): fix that and run the same command again to finish", err=True)
        sys.exit(EXIT_IO)
    s = result.summary
    if not options.quiet:
        docs = s["documents"]
        units = s["units"]
        reused = f", {units['reused']} of {units['total']} files reused" if units["reused"] else ""
        click.echo(
            f"normalize: {docs['written']} of {docs['seen']} documents written to {out_dir}, "
            f"{s['edits']['total']} edits, {s['flags']['total']} flags, {docs['failed']} failed{reused} "
            f"({s['timings']['wall_seconds']:.2f}s)", err=True)
        if not units["total"]:
            click.echo(f"normalize: warning: {_nothing_found(in_dir)}", err=True)
        stale = s["stale"]
        if stale["outputs"] and not stale["removed"]:
            click.echo(f"normalize: {len(stale['outputs'])} output(s) have no input any more "
                       f"(e.g. {stale['outputs'][0]}); --prune removes them", err=True)
        elif stale["removed"]:
            click.echo(f"normalize: removed {len(stale['removed'])} output(s) whose input is gone", err=True)
        if docs["failed"]:
            click.echo(f"normalize: see {out_dir / '_normalize' / 'errors.jsonl'}", err=True)
        elif s["errors"]["total"]:  # warnings only (a file changed while read, a directory link)
            click.echo(f"normalize: {s['errors']['total']} warning(s), nothing lost: see "
                       f"{out_dir / '_normalize' / 'errors.jsonl'}", err=True)
    sys.exit(result.exit_code)


def _print_preview(p: Preview, in_dir: str, options: RunOptions) -> None:
    """``run --dry-run``: on stdout, ``WHY<TAB>FILE`` for each file the run would clean (the words
    of :data:`normalize.preview.WHY`), ``fails<TAB>FILE`` for each it would fail unread, and
    ``gone<TAB>FILE`` for each output whose input is gone; on stderr (not with ``--quiet``),
    the problems, what changed since the last run, and the counts."""
    for why, rel in p.todo:
        click.echo(f"{why}\t{printable_rel(rel)}")
    for rel, _problem in p.failing:
        click.echo(f"fails\t{printable_rel(rel)}")
    for rel in p.stale:
        click.echo(f"gone\t{printable_rel(rel)}")
    if options.quiet:
        return
    for rel, problem in [*p.failing, *p.warnings]:
        click.echo(f"normalize: {printable_rel(rel)}: {problem}", err=True)
    if p.changes:
        click.echo(f"normalize: since the last run: {'; '.join(p.changes)}", err=True)
    whys = Counter(why for why, _ in p.todo)
    said = f" ({', '.join(f'{n:,} {why}' for why, n in whys.most_common())})" if whys else ""
    cut = f"; {len(p.chunks):,} of them in {sum(p.chunks.values()):,} chunks" if p.chunks else ""
    fails = f"; {len(p.failing):,} would fail unread" if p.failing else ""
    stale = (f"; {len(p.stale):,} output(s) have no input any more ("
             f"{'--prune would remove them' if options.prune else 'reported; --prune removes them'})") if p.stale else ""
    click.echo(f"normalize: dry run, nothing written: {len(p.todo):,} of {p.files:,} files to clean"
               f"{said}{f', {_size(p.todo_bytes)}' if p.todo else ''}{cut}, {p.reused:,} reused{fails}{stale} "
               f"({p.plan_seconds:.2f}s)", err=True)
    if not p.files:
        click.echo(f"normalize: warning: {_nothing_found(in_dir)}", err=True)


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB"


def _nothing_found(in_dir: str) -> str:
    """What a run that found no input says about IN: the inputs it takes, and the other files
    there are, by suffix (the most common first)."""
    took = f"inputs are {', '.join(SUFFIXES[:-1])} and {SUFFIXES[-1]} files, names matched case-sensitively"
    others = other_files(inputs_of(in_dir))
    if not others:
        return f"no input file under {in_dir} ({took})"
    kinds = ", ".join(f"{count:,} {suffix or 'without a suffix'}" for suffix, count in
                      sorted(others.items(), key=lambda kv: (-kv[1], not kv[0], kv[0]))[:5])
    return f"no input file under {in_dir} ({took}); it holds {sum(others.values()):,} other file(s): {kinds}"


@main.command("fix")
@click.argument("file", default="-", type=click.File("rb"))
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False), help="Rules directory.")
@click.option("--explain", is_flag=True, help="Print each edit to stderr as FILE:LINE:COL pass/rule 'before' -> 'after'.")
@click.option("--only", help="Run only these passes (comma-separated).")
@click.option("--skip", help="Skip these passes (comma-separated).")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Flag threshold (see `run --threshold`).")
@click.option("--flagger/--no-flagger", default=True, help="Score sentences for --explain's flags.")
def fix_cmd(file: Any, rules_dir: str | None, explain: bool, only: str | None, skip: str | None,
            threshold: float | None, flagger: bool) -> None:
    """Clean one document: FILE (or - for stdin) to stdout.

    With --explain, stderr gets each edit, then each flagged sentence
    (FILE:LINE:COL flag CONFIDENCE [reason codes] text), offsets into the cleaned text.
    """
    from .io import InputError, decode_bytes

    only_l, skip_l = _pass_list(only), _pass_list(skip)
    name = "<stdin>" if file.name in ("-", "<stdin>") else file.name
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        interrupted = True  # (a KeyboardInterrupt raised inside a __del__ is swallowed: this is not)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        previous = None
    try:
        from .pipeline import Normalizer

        normalizer = Normalizer(load_rules(rules_dir), only=only_l, skip=skip_l,
                                flagger=flagger and explain, threshold=threshold)
        text = decode_bytes(file.read()).text
        res = normalizer.clean(text, path=name)
    except KeyboardInterrupt:
        interrupted = True
    except InputError as exc:
        click.echo(f"normalize: {name}: {exc}", err=True)
        sys.exit(1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if interrupted:  # before a byte of the document was written (click would say "Aborted!", exit 1)
        click.echo(f"normalize: {name}: interrupted (Ctrl-C); nothing written", err=True)
        sys.exit(128 + signal.SIGINT)
    sys.stdout.write(res.text)
    sys.stdout.flush()
    if explain:
        for e in res.edits:
            line = text.count("\n", 0, e.start) + 1
            col = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
            arrow = "~>" if e.action == "suggest" else "->"
            click.echo(f"{name}:{line}:{col} {e.pass_name}/{e.rule} {e.before!r} {arrow} {e.after!r}", err=True)
        out = res.text
        for f in res.flags:
            line = out.count("\n", 0, f.start) + 1
            col = f.start - (out.rfind("\n", 0, f.start) + 1) + 1
            codes = ",".join(dict.fromkeys(r.code for r in f.reasons))
            click.echo(f"{name}:{line}:{col} flag {f.confidence:.2f} [{codes}] {f.text!r}", err=True)
            for r in f.reasons:
                click.echo(f"    {r.code}: {r.message}" + (f" -> {r.suggestion!r}" if r.suggestion else ""), err=True)


@main.group("rules")
def rules_group() -> None:
    """Work with the rules directory (gazetteer, debris patterns, word lists)."""


@rules_group.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def rules_check(directory: str | None) -> None:
    """Validate a rules directory; prints FILE:LINE: message; exit 1 on errors."""
    rules = RuleSet.load(directory or default_rules_dir())
    for issue in rules.issues:
        click.echo(str(issue))
    errors = len(rules.errors)
    warnings = len(rules.issues) - errors
    click.echo(f"{rules.root}: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(1 if errors else 0)


@main.command("review")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port; the URL is printed).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on (127.0.0.1 or ::1).")
@click.option("--reviewer", help="Your name, saved with each decision (default: the login name).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option("--verbose", "-v", is_flag=True, help="Log every request to stderr.")
@click.option("--max-flags", type=click.IntRange(0), default=5000, show_default=True,
              help="Show the run's first N flags (0: all of them).")
@click.option("--file", "files", multiple=True, metavar="REL",
              help="Show only the flags of this output file (a path relative to OUT; repeatable).")
def review_cmd(out_dir: Path, port: int, host: str, reviewer: str | None, open_browser: bool, verbose: bool,
               max_flags: int, files: tuple[str, ...]) -> None:
    """Review the flags of a finished run in the browser (a local app on 127.0.0.1).

    Decisions (accept a suggestion, type a correction, false alarm, revert an automatic edit)
    are saved at once in OUT/_normalize/decisions.jsonl; `normalize apply OUT` applies them.
    Only the files the shown flags are in are read, so a run of any size opens quickly.
    """
    import getpass

    from .review.server import is_loopback, make_server, valid_name

    if not is_loopback(host):
        _fail(f"--host {host}: the review app only listens on this machine (127.0.0.1 or ::1)")
    if reviewer is None:
        try:
            reviewer = getpass.getuser()
        except (KeyError, OSError):
            reviewer = "reviewer"
    if not valid_name(reviewer):
        _fail("--reviewer: a name of 1 to 80 printable characters")
    try:
        server = make_server(out_dir, host=host, port=port, reviewer=reviewer, verbose=verbose,
                             max_flags=max_flags or None, files=files or None)
    except FileNotFoundError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return
    view = server.app.view
    shown = f"{len(view.flags)} flags of the files {', '.join(files)}" if files else \
        f"the first {len(view.flags)} of {view.flags_in_run} flags" if view.flags_in_run > len(view.flags) else \
        f"{len(view.flags)} flags"
    click.echo(f"normalize review: {shown} in {out_dir}; decisions go to "
               f"{out_dir / '_normalize' / 'decisions.jsonl'}", err=True)
    click.echo(server.url)
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("normalize review: stopped", err=True)
    finally:
        server.server_close()


@main.command("apply")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Rules directory for the proposals (default: the run's, from summary.json).")
@click.option("--proposals", "proposals_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write gazetteer proposals (default: RULES/gazetteer/review-proposals.yaml).")
@click.option("--quiet", "-q", is_flag=True, help="Only errors and conflicts.")
def apply_cmd(out_dir: Path, rules_dir: Path | None, proposals_file: Path | None, quiet: bool) -> None:
    """Apply the reviewers' decisions to the cleaned documents in OUT and propose gazetteer changes.

    Changes are recorded in OUT/_normalize/edits.jsonl (action "review"); applying twice changes
    nothing more. Conflicting decisions are skipped and listed. Exit 1 when the proposals could
    not be written because they would not pass `rules check`.
    """
    from .review.apply import ApplyError, apply_decisions

    try:
        res = apply_decisions(out_dir, rules_dir, proposals_file)
    except ApplyError as exc:
        _fail(str(exc))
        return
    for st in res.conflicts:
        who = ", ".join(f"{r} ({d.get('action')})" for r, d in sorted(st.active.items()))
        d0 = next(iter(st.active.values()))
        where = f"{d0.get('file')}" + (f":{d0.get('line')}" if d0.get("line") is not None else "")
        click.echo(f"normalize: conflict on {st.key} in {where}: {who}; skipped", err=True)
    for d, why in res.skipped:
        click.echo(f"normalize: skipped decision {d.get('id')} ({d.get('action')} by {d.get('reviewer')}): {why}",
                   err=True)
    for issue in res.proposal_issues:
        click.echo(str(issue), err=True)
    if not quiet:
        for note in res.notes:
            click.echo(f"normalize: note: {note}", err=True)
        n_text = sum(1 for p in res.applied if p.change is not None)
        click.echo(f"normalize: {len(res.applied)} decisions in effect ({len(res.new)} new), {n_text} text changes in "
                   f"{len({p.flag.doc.file for p in res.applied if p.change is not None})} files "
                   f"({len(res.files_written)} written now), {len(res.conflicts)} conflicts, "
                   f"{len(res.skipped)} skipped", err=True)
        if res.proposals_written and res.proposals is not None:
            click.echo(f"normalize: {len(res.proposals)} gazetteer proposals in {res.proposals_path}", err=True)
    sys.exit(0 if res.ok else 1)
