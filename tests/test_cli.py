"""The command line, run through the real entry point (`python -m normalize` / `normalize`)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import normalize

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus_in"


def cli(*args: str, input: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "normalize", *args], input=input, cwd=cwd,
                          capture_output=True, timeout=300)


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    before = tree_hash(CORPUS)
    r = cli("run", str(CORPUS), str(out), "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    assert tree_hash(CORPUS) == before, "the input tree was modified"
    return out


def test_run_writes_every_output(seed_run):
    for src in CORPUS.glob("*.txt"):
        assert (seed_run / src.name).is_file()
    meta = seed_run / "_normalize"
    for name in ("edits.jsonl", "flags.jsonl", "flags.csv", "summary.json", "errors.jsonl", "documents.jsonl"):
        assert (meta / name).is_file(), name
    summary = json.loads((meta / "summary.json").read_text())
    docs = summary["documents"]
    assert docs["seen"] == docs["written"] + docs["failed"] == len(list(CORPUS.glob("*.txt")))
    assert summary["edits"]["total"] == len(read_jsonl(meta / "edits.jsonl"))
    assert summary["tool"]["version"] == normalize.__version__ and summary["rules"]["version"]
    assert not list(seed_run.rglob("*.tmp")), "a temporary file was left behind"
    assert (meta / "report.html").is_file()
    assert (seed_run / "000_ec6e41eaaa5eef1a.txt").stat().st_mode & 0o044, "outputs are readable by others"


def test_edits_jsonl_replays_every_document(seed_run):
    edits = read_jsonl(seed_run / "_normalize" / "edits.jsonl")
    assert {"file", "pass", "rule", "action", "start", "end", "before", "after", "confidence"} <= set(edits[0])
    for src in CORPUS.glob("*.txt"):
        mine = [e for e in edits if e["file"] == src.name]
        original = src.read_text(encoding="utf-8")
        assert normalize.replay(original, mine) == (seed_run / src.name).read_text(encoding="utf-8")


def test_documents_record_metadata_and_encoding(seed_run):
    docs = {d["file"]: d for d in read_jsonl(seed_run / "_normalize" / "documents.jsonl")}
    assert docs["001_2da3e8dfcf1f5693.txt"]["metadata"] == {"date": "2021-12-01"}
    assert {d["encoding"] for d in docs.values()} == {"utf-8"}


def test_rerun_on_own_output_changes_nothing(seed_run, tmp_path):
    inp = tmp_path / "in"
    shutil.copytree(seed_run, inp, ignore=shutil.ignore_patterns("_normalize"))
    out = tmp_path / "out"
    r = cli("run", str(inp), str(out), "-q", "--jobs", "1")
    assert r.returncode == 0, r.stderr.decode()
    # suggestions are raised again; nothing is changed
    assert [e for e in read_jsonl(out / "_normalize" / "edits.jsonl") if e["action"] != "suggest"] == []
    for f in inp.glob("*.txt"):
        assert (out / f.name).read_bytes() == f.read_bytes()


def test_output_is_deterministic_across_job_counts(seed_run, tmp_path):
    out = tmp_path / "out1"
    assert cli("run", str(CORPUS), str(out), "-q", "--jobs", "1").returncode == 0
    for name in ("edits.jsonl", "flags.jsonl", "flags.csv", "documents.jsonl"):
        assert (out / "_normalize" / name).read_bytes() == (seed_run / "_normalize" / name).read_bytes()
    for src in CORPUS.glob("*.txt"):
        assert (out / src.name).read_bytes() == (seed_run / src.name).read_bytes()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and two CPUs to narrow it to one")
def test_jobs_default_to_the_cores_the_process_may_use(tmp_path):
    """Started under `taskset -c N` (or a Slurm allocation of one CPU) on a machine of several,
    a run without --jobs starts one worker, not one per CPU of the machine."""
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(3):
        (inp / f"{i}.txt").write_text(f"Article {i}: NATO ,  the Alliance said so.\n")
    one = min(os.sched_getaffinity(0))
    r = subprocess.run([sys.executable, "-m", "normalize", "run", str(inp), str(tmp_path / "o1"), "-q"],
                       preexec_fn=lambda: os.sched_setaffinity(0, {one}), capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads((tmp_path / "o1" / "_normalize" / "summary.json").read_text())["timings"]["jobs"] == 1
    # unrestricted, every CPU of the affinity set (this machine has no tighter container quota)
    assert cli("run", str(inp), str(tmp_path / "o2"), "-q").returncode == 0
    jobs = json.loads((tmp_path / "o2" / "_normalize" / "summary.json").read_text())["timings"]["jobs"]
    assert 2 <= jobs <= len(os.sched_getaffinity(0))
    assert (tmp_path / "o1" / "0.txt").read_bytes() == (tmp_path / "o2" / "0.txt").read_bytes()


@pytest.mark.parametrize("where", ["same", "inside"])
def test_out_equal_to_or_inside_in_is_refused(tmp_path, where):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("NATO ,  the Alliance")
    out = inp if where == "same" else inp / "out"
    before = tree_hash(inp)
    r = cli("run", str(inp), str(out))
    assert r.returncode == 2
    assert b"OUT may not be IN" in r.stderr
    assert tree_hash(inp) == before


def test_in_that_is_a_file_or_missing_is_a_usage_error(tmp_path):
    """IN is a folder: a file given as IN is named as such (not "does not exist"), with the
    command for one document; nothing is written either way."""
    dump = tmp_path / "dump.jsonl"
    dump.write_text('{"text": "NATO ,  the Alliance"}\n')
    r = cli("run", str(dump), str(tmp_path / "out"))
    assert r.returncode == 2 and b"is not a directory" in r.stderr and b"normalize fix" in r.stderr
    r = cli("run", str(tmp_path / "nowhere"), str(tmp_path / "out"))
    assert r.returncode == 2 and b"does not exist" in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_that_finds_no_input_says_what_is_there(tmp_path):
    """An IN with no .txt, .jsonl or .jsonl.gz file is not an error (exit 0, an empty run), but
    the operator is told which inputs are read and what the folder holds instead."""
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    for name in ("a.json", "b.json", "sub/c.json", "NOTES.TXT", "README"):
        (inp / name).write_text("{}")
    r = cli("run", str(inp), str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    warning = [line for line in r.stderr.decode().splitlines() if "warning" in line]
    assert warning == [f"normalize: warning: no input file under {inp} (inputs are .txt, .jsonl and .jsonl.gz "
                       "files, names matched case-sensitively); it holds 5 other file(s): 3 .json, 1 .TXT, "
                       "1 without a suffix"]
    (inp / "a.txt").write_text("NATO ,  the Alliance")
    r = cli("run", str(inp), str(tmp_path / "out"))
    assert r.returncode == 0 and b"warning" not in r.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_slow_plan_counts_its_files_and_the_work_has_a_bar(tmp_path, monkeypatch):
    """On a terminal a plan that takes a while (here: any) shows how many files it went through,
    then the work a progress bar. With --quiet, or on a pipe or a file, nothing of the kind."""
    from normalize import runner
    from normalize.rules import RuleSet

    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(3):
        (inp / f"{i}.txt").write_text("NATO ,  the Alliance\n", encoding="utf-8")
    monkeypatch.setattr(runner, "PLAN_PROGRESS_AFTER", 0.0)
    for quiet, terminal in ((False, True), (True, True), (False, False)):
        err = _Terminal() if terminal else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        out = tmp_path / f"out{quiet}{terminal}"
        runner.run(inp, out, runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=quiet, flagger=False))
        shown = err.getvalue()
        if quiet or not terminal:
            assert shown == ""
        else:
            assert re.search(r"planning: 3 files \[", shown) and re.search(r"normalize: 100%.*\| 3/3 \[", shown), shown


def test_broken_rules_exit_2_and_write_nothing(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "debris.yaml").write_text("lines:\n  - id: x\n    pattern: '(unclosed'\n")
    out = tmp_path / "out"
    r = cli("run", str(CORPUS), str(out), "--rules", str(rules))
    assert r.returncode == 2
    assert re.search(rb"rules/debris\.yaml:2: lines: rule 'x': bad pattern", r.stderr), r.stderr
    assert not out.exists()


def test_rules_check(tmp_path):
    ok = cli("rules", "check")
    assert ok.returncode == 0, ok.stdout.decode() + ok.stderr.decode()
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "punctuation.yaml").write_text("rules:\n  - id: a\n    pattern: 'x'\n    replace: 'y'\n"
                                            "    examples: [['x', 'z']]\n  - id: a\n    pattern: 'q'\n")
    bad = cli("rules", "check", str(rules))
    assert bad.returncode == 1
    out = bad.stdout.decode()
    assert "rules/punctuation.yaml:2: rule 'a': example 'x' gives 'y', expected 'z'" in out
    assert "rules/punctuation.yaml:6:" in out and "duplicate" in out


def test_jsonl_and_gz_pass_fields_through_and_record_bad_lines(tmp_path):
    inp = tmp_path / "in"
    (inp / "sub dir").mkdir(parents=True)
    rows = [{"id": 1, "body": "NATO ,  the Alliance", "lang": "en", "nested": {"k": [1, 2.5]}},
            {"id": 2, "body": "Keep reading:\nHeadline one"}]
    lines = [json.dumps(rows[0]), "{not json", json.dumps({"id": 3}), json.dumps(rows[1])]
    (inp / "sub dir" / "a.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.open(inp / "b.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(rows[0]) + "\n")
    out = tmp_path / "out"
    r = cli("run", str(inp), str(out), "--text-field", "body", "-q")
    assert r.returncode == 1, "a failed line makes the run exit 1"
    got = read_jsonl(out / "sub dir" / "a.jsonl")
    assert [g["id"] for g in got] == [1, 2]
    assert got[0] == {**rows[0], "body": "NATO, the Alliance"}
    assert got[1]["body"] == ""
    with gzip.open(out / "b.jsonl.gz", "rt") as fh:
        assert json.loads(fh.readline())["body"] == "NATO, the Alliance"
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["line"]) for e in errors] == [("sub dir/a.jsonl", 2), ("sub dir/a.jsonl", 3)]
    summary = json.loads((out / "_normalize" / "summary.json").read_text())
    assert summary["documents"] == {"seen": 5, "written": 3, "failed": 2}
    edits = read_jsonl(out / "_normalize" / "edits.jsonl")
    assert {e.get("line") for e in edits if e["file"] == "sub dir/a.jsonl"} == {1, 4}


def test_a_bad_file_does_not_stop_the_run(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "good.txt").write_text("NATO ,  the Alliance")
    (inp / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00\x00")
    (inp / "legacy.txt").write_bytes("Caf\xe9 \x93quoted\x94".encode("latin-1"))
    out = tmp_path / "out"
    r = cli("run", str(inp), str(out), "-q")
    assert r.returncode == 1
    assert (out / "good.txt").read_text() == "NATO, the Alliance"
    assert (out / "legacy.txt").read_text(encoding="utf-8") == "Café “quoted”"
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"]) for e in errors] == [("binary.txt", "input")]
    docs = {d["file"]: d for d in read_jsonl(out / "_normalize" / "documents.jsonl")}
    assert docs["legacy.txt"]["encoding"] == "cp1252"


def test_fix_in_a_pipe_with_explain():
    text = "D.His press conference began.\nWe call on Russia to de-escalate “, stated Stoltenberg.\n"
    r = cli("fix", "-", "--explain", input=text.encode())
    assert r.returncode == 0
    assert r.stdout.decode() == "His press conference began.\nWe call on Russia to de-escalate”, stated Stoltenberg.\n"
    explain = r.stderr.decode().splitlines()
    assert "<stdin>:1:1 debris/dropcap 'D.' -> ''" in explain
    assert "<stdin>:2:33 punctuation/misdirected-closing-quote ' “' -> '”'" in explain


def test_fix_a_file_with_only(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("© NATO image\nCaption here\nNATO ,  the Alliance said so.\n")
    r = cli("fix", str(f), "--only", "punctuation")
    assert r.stdout.decode() == "© NATO image\nCaption here\nNATO, the Alliance said so.\n"
    assert cli("fix", str(f), "--only", "nosuchpass").returncode == 2


def test_fix_stopped_by_ctrl_c_says_so_and_writes_nothing(tmp_path):
    """Ctrl-C while `fix` cleans: one line and exit 130 (128 + SIGINT), as `run` does; not click's
    "Aborted!" with exit 1, which a script could not tell from a document that failed."""
    import signal
    import time

    big = tmp_path / "big.txt"
    big.write_text("".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.txt"))) * 60,
                   encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "normalize", "fix", str(big)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)  # (imports, rules, then the document: seconds of work)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert out == b""
    assert err.decode().strip() == f"normalize: {big}: interrupted (Ctrl-C); nothing written"


def test_config_file_and_precedence(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("© NATO image\nCaption here\nNATO ,  the Alliance said so.\n")
    cfg = tmp_path / "normalize.toml"
    cfg.write_text('[normalize]\nskip = ["debris"]\njobs = 1\nquiet = true\n')
    assert cli("run", str(inp), str(tmp_path / "o1"), "--config", str(cfg)).returncode == 0
    assert (tmp_path / "o1" / "a.txt").read_text().startswith("© NATO image")
    # the command line wins over the file
    assert cli("run", str(inp), str(tmp_path / "o2"), "--config", str(cfg), "--skip", "encoding").returncode == 0
    assert (tmp_path / "o2" / "a.txt").read_text() == "NATO, the Alliance said so.\n"
    cfg.write_text('[normalize]\nbogus = 1\n')
    r = cli("run", str(inp), str(tmp_path / "o3"), "--config", str(cfg))
    assert r.returncode == 2 and b"unknown setting 'bogus'" in r.stderr
    assert not (tmp_path / "o3").exists()


@pytest.mark.parametrize("args", [[], ["run"], ["fix"], ["rules"], ["rules", "check"]])
def test_help_everywhere(args):
    r = cli(*args, "--help")
    assert r.returncode == 0 and b"Usage:" in r.stdout


def test_version_and_console_script():
    exe = shutil.which("normalize", path=str(Path(sys.executable).parent))
    assert exe, "the console script is installed next to the interpreter"
    r = subprocess.run([exe, "--version"], capture_output=True, timeout=60)
    assert r.returncode == 0 and normalize.__version__ in r.stdout.decode()


def test_missing_input_is_a_usage_error(tmp_path):
    r = cli("run", str(tmp_path / "nope"), str(tmp_path / "out"))
    assert r.returncode == 2
    assert not (tmp_path / "out").exists()


def test_broken_gazetteer_is_reported_with_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "gazetteer" / "zz_broken.yaml").write_text(
        "entries:\n"
        "  - name: Andrzej Duda\n    type: person\n"             # duplicate of people.yaml
        "  - name: Someone Else\n    type: person\n    variants: [Andrej Duda]\n"  # variant of two canonicals
        "  - name: Nobody\n    type: robot\n"                      # bad type
        "  - name: Plain Words\n    type: term\n    garbles: [The Section]\n"  # common English, no guard
    )
    r = cli("rules", "check", str(rules))
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "rules/gazetteer/zz_broken.yaml:2: duplicate entry 'Andrzej Duda' (first at rules/gazetteer/people.yaml:" in out
    assert "rules/gazetteer/zz_broken.yaml:4: variant 'Andrej Duda' points at 'Someone Else' and at 'Andrzej Duda'" in out
    assert "rules/gazetteer/zz_broken.yaml:7: 'Nobody': type must be one of" in out
    assert "rules/gazetteer/zz_broken.yaml:9: warning: 'Plain Words': garble 'The Section' is common English" in out
    out_dir = tmp_path / "out"
    run = cli("run", str(CORPUS), str(out_dir), "--rules", str(rules))
    assert run.returncode == 2 and b"zz_broken.yaml:2: duplicate entry" in run.stderr
    assert not out_dir.exists()


def test_a_corrupt_gz_counts_as_failed_not_written(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    data = gzip.compress(("\n".join(json.dumps({"text": f"line {i} ,  here"}) for i in range(2000)) + "\n").encode())
    (inp / "broken.jsonl.gz").write_bytes(data[: len(data) // 2])  # truncated mid-stream
    (inp / "good.txt").write_text("NATO ,  the Alliance")
    out = tmp_path / "out"
    r = cli("run", str(inp), str(out), "-q")
    assert r.returncode == 1
    assert not (out / "broken.jsonl.gz").exists()
    summary = json.loads((out / "_normalize" / "summary.json").read_text())
    docs = summary["documents"]
    assert docs["written"] == 1 and docs["seen"] == docs["written"] + docs["failed"]
    assert all(e["file"] != "broken.jsonl.gz" for e in read_jsonl(out / "_normalize" / "edits.jsonl"))
    assert [e["file"] for e in read_jsonl(out / "_normalize" / "errors.jsonl")] == ["broken.jsonl.gz"]


def test_seed_run_flags_at_most_15_percent_with_reasons(seed_run):
    meta = seed_run / "_normalize"
    flags = read_jsonl(meta / "flags.jsonl")
    summary = json.loads((meta / "summary.json").read_text())
    assert summary["flags"]["total"] == len(flags) > 0
    assert all(f["reasons"] for f in flags)
    assert 0 < summary["config"]["threshold"] < 1
    sentences = sum(1 for line in (meta / "flags.csv").read_text().splitlines()[1:])
    assert sentences == len(flags)


def test_threshold_and_no_flagger_options(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("The summit ended. To study. Denmark sends four F-16 bombers to Lithuania.\n")
    assert cli("run", str(inp), str(tmp_path / "all"), "--threshold", "1", "-q").returncode == 0
    everything = read_jsonl(tmp_path / "all" / "_normalize" / "flags.jsonl")
    assert [f["text"] for f in everything] == ["The summit ended.", "To study.",
                                               "Denmark sends four F-16 bombers to Lithuania."]
    assert cli("run", str(inp), str(tmp_path / "off"), "--no-flagger", "-q").returncode == 0
    off = read_jsonl(tmp_path / "off" / "_normalize" / "flags.jsonl")
    assert [f["text"] for f in off] == ["Denmark sends four F-16 bombers to Lithuania."]
    r = cli("run", str(inp), str(tmp_path / "bad"), "--threshold", "2")
    assert r.returncode == 2 and not (tmp_path / "bad").exists()
    cfg = tmp_path / "n.toml"
    cfg.write_text("threshold = 1.5\n")
    r = cli("run", str(inp), str(tmp_path / "bad2"), "--config", str(cfg))
    assert r.returncode == 2 and b"between 0 and 1" in r.stderr and not (tmp_path / "bad2").exists()
    cfg.write_text("threshold = 0\nquiet = true\n")
    assert cli("run", str(inp), str(tmp_path / "zero"), "--config", str(cfg)).returncode == 0
    assert read_jsonl(tmp_path / "zero" / "_normalize" / "flags.jsonl") == off


def test_fix_explain_prints_flags():
    r = cli("fix", "-", "--explain", input=b"We studied. To study.\n")
    assert r.returncode == 0 and r.stdout == b"We studied. To study.\n"
    assert "<stdin>:1:13 flag" in r.stderr.decode() and "[fragment]" in r.stderr.decode()


def test_max_document_mb_sets_the_size_a_document_may_have(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "small.txt").write_text("A short article.\n", encoding="utf-8")
    (inp / "long.txt").write_text("A longer article. " * 4000, encoding="utf-8")  # 72,000 bytes
    (inp / "feed.jsonl").write_text(json.dumps({"text": "Fine."}) + "\n"
                                    + json.dumps({"text": "Too long. " * 8000}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    r = cli("run", str(inp), str(out), "-q", "--max-document-mb", "0.05")
    assert r.returncode == 1, r.stderr  # documents failed
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert sorted((e["file"], e.get("line"), e["error"]) for e in errors) == [
        ("feed.jsonl", 2, "too-large"), ("long.txt", None, "too-large")]
    assert "52428 bytes" in errors[0]["message"]
    assert not (out / "long.txt").exists() and (out / "small.txt").is_file()

    # the limit is part of the settings: raised (here from the config file), the failed documents are redone
    (tmp_path / "c.toml").write_text("max_document_mb = 1\n", encoding="utf-8")
    r = cli("run", str(inp), str(out), "-q", "--config", str(tmp_path / "c.toml"))
    assert r.returncode == 0, r.stderr
    assert (out / "long.txt").is_file() and read_jsonl(out / "_normalize" / "errors.jsonl") == []
    assert len((out / "feed.jsonl").read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize("args", [["--max-document-mb", "0"], ["--chunk-mb", "-1"]])
def test_sizes_must_be_positive(tmp_path, args):
    (tmp_path / "in").mkdir()
    r = cli("run", str(tmp_path / "in"), str(tmp_path / "out"), *args)
    assert r.returncode == 2 and b"0.001" in r.stderr


def test_a_size_from_the_config_file_must_be_positive(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "c.toml").write_text("max_document_mb = 0\n", encoding="utf-8")
    r = cli("run", str(tmp_path / "in"), str(tmp_path / "out"), "--config", str(tmp_path / "c.toml"))
    assert r.returncode == 2 and b"must be positive" in r.stderr


def test_a_signal_that_stops_a_run_is_not_lost_if_python_swallows_it(monkeypatch):
    """The run's signal handler raises to stop it; a second signal soon after is ignored (it
    would cut the stopping short), but one after the grace period raises again: Python
    swallows an exception raised while a finalizer (a __del__) runs, and the run would go on,
    ignoring every later Ctrl-C."""
    import signal

    from normalize import cli as cli_module

    monkeypatch.setattr(cli_module, "STOP_GRACE", 0.2)
    with cli_module._stopped_by_signals():
        with pytest.raises(cli_module._Stopped):  # stands for the one a finalizer swallowed
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # within the grace: ignored
        import time

        time.sleep(0.3)
        with pytest.raises(cli_module._Stopped) as stopped:
            os.kill(os.getpid(), signal.SIGTERM)
        assert stopped.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
