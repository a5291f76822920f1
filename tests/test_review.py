"""The reviewer workflow without a browser: decisions store, review server API, apply, gazetteer
proposals, and the gazetteer's ``extends:`` items (tests/test_review_browser.py drives the page).

The runs are real (`normalize run` on tests/data/review/corpus, with the mini gazetteer and
without the sentence flagger, so they are fast and their flags are the passes' own).
"""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import normalize
from normalize.cli import main
from normalize.gazetteer import Gazetteer
from normalize.review import DecisionStore, ReviewApp, RunView, apply_decisions, apply_review_edits, effective, flag_id
from normalize.review.decisions import decision_id
from normalize.review.proposals import MARKER, q
from normalize.review.run import RecordDigests
from normalize.review.server import MAX_BODY, make_server, serve_in_thread
from normalize.rules import RuleSet

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


# -- fixtures ----------------------------------------------------------------------------------
def _rules_copy(dest: Path) -> Path:
    """The shipped rules with the mini gazetteer (and an F-16 entry) as the gazetteer."""
    shutil.copytree(ROOT / "rules", dest, ignore=shutil.ignore_patterns("gazetteer", "review-proposals.yaml"))
    shutil.copytree(DATA / "mini_gazetteer", dest / "gazetteer")
    shutil.copy(DATA / "review" / "equipment.yaml", dest / "gazetteer" / "equipment.yaml")
    return dest


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(input dir, finished run, rules dir): made once; tests work on copies."""
    base = tmp_path_factory.mktemp("review")
    rules = _rules_copy(base / "rules")
    corpus = base / "in"
    shutil.copytree(DATA / "review" / "corpus", corpus)
    (corpus / "more").mkdir()
    (corpus / "more" / "feed2.jsonl.gz").write_bytes(gzip.compress((DATA / "review" / "corpus" / "feed.jsonl").read_bytes()))
    out = base / "out"
    res = CliRunner().invoke(main, ["run", str(corpus), str(out), "--rules", str(rules), "--no-flagger", "-q", "-j", "1"])
    assert res.exit_code == 1, res.output  # line 2 of each feed is not JSON: a failed document
    return corpus, out, rules


@pytest.fixture
def run(pristine, tmp_path) -> tuple[Path, Path, Path]:
    corpus, out, rules = pristine
    shutil.copytree(out, tmp_path / "out")
    shutil.copytree(rules, tmp_path / "rules")
    return corpus, tmp_path / "out", tmp_path / "rules"


def flag_with(app: ReviewApp, text: str, file: str | None = None) -> str:
    ids = [f.id for f in app.view.flags.values() if text in f.text and (file is None or f.doc.file == file)]
    assert len(ids) == 1, (text, ids)
    return ids[0]


def reason_index(app: ReviewApp, fid: str, code: str) -> int:
    return next(i for i, r in enumerate(app.view.flags[fid].reasons) if r["code"] == code)


# -- ids and the run view -----------------------------------------------------------------------
def test_flag_ids_are_stable_and_documented(run):
    _, out, _ = run
    view = RunView(out)
    rows = [json.loads(x) for x in (out / "_normalize" / "flags.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {flag_id(r["file"], r.get("line"), r["start"], r["end"], r["text"]) for r in rows} == set(view.flags)
    import hashlib

    r = rows[0]
    raw = json.dumps([r["file"], r.get("line"), r["start"], r["end"], r["text"]], ensure_ascii=False, separators=(",", ":"))
    assert flag_id(r["file"], r.get("line"), r["start"], r["end"], r["text"]) == hashlib.sha1(raw.encode()).hexdigest()[:16]
    assert RunView(out).flags.keys() == view.flags.keys()
    # every flag is found in its document, the JSONL ones too (line 3 is the 2nd record: line 2 failed)
    assert all(f.located for f in view.flags.values())
    f16 = view.flags[next(i for i, f in view.flags.items() if "F-16" in f.text)]
    assert [(c.before, c.after) for c in f16.changes] == [("F-16 bombers", "F-16 fighter jets")]


def _flag_rows(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "_normalize" / "flags.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_view_of_some_files_is_the_whole_view_of_them(run):
    """A run of a million documents opens in seconds: the view holds only the files it is asked
    for, and of them exactly what the whole view holds (ids, texts, places, digests)."""
    _, out, _ = run
    whole = RunView(out)
    files = {"nato.txt", "more/feed2.jsonl.gz"}
    part = RunView(out, files=files)
    assert set(part.docs) == {k for k in whole.docs if k[0] in files} and part.docs
    assert set(part.flags) == {i for i, f in whole.flags.items() if f.doc.file in files} and part.flags
    assert set(part.edits) == {i for i, (d, _) in whole.edits.items() if d.file in files}
    assert part.digests == {rel: d for rel, d in whole.digests.items() if rel in files}
    for key, doc in part.docs.items():
        assert doc.text == whole.docs[key].text and doc.ordinal == whole.docs[key].ordinal
    for fid, f in part.flags.items():
        w = whole.flags[fid]
        assert (f.located, f.changes, [e.id for e in f.near_edits()]) == (w.located, w.changes, [e.id for e in w.near_edits()])
    assert part.flags_in_run == whole.flags_in_run == len(_flag_rows(out)) == len(whole.flags)
    assert RunView(out, files=set()).flags == {}

    # the first N flags, and the files they are in
    rows = _flag_rows(out)
    first = RunView(out, max_flags=3)
    assert list(first.flags) == [flag_id(r["file"], r.get("line"), r["start"], r["end"], r["text"]) for r in rows[:3]]
    assert {d.file for d in first.docs.values()} == {r["file"] for r in rows[:3]}
    assert first.flags_in_run == len(rows)


def _state(view: RunView) -> tuple:
    """What a view holds, in order: documents and their texts, flags, edits, digests, the count."""
    return (list(view.docs), [d.text for d in view.docs.values()], list(view.flags),
            [(f.located, f.changes) for f in view.flags.values()], list(view.edits), view.digests,
            view.flags_in_run)


def test_a_view_of_some_files_reads_only_their_records_where_the_index_says(run, monkeypatch):
    """OUT/_normalize/.by-file.tsv says where each output file's records are in documents.jsonl,
    edits.jsonl and flags.jsonl. A view of some files reads only those stretches (nothing is
    parsed whole) and holds what parsing every record gives; an index that does not describe
    the record files there now (another run's, a file changed, offsets that point elsewhere) is
    not used, and the files are read whole."""
    import normalize.review.run as run_mod
    from normalize.recindex import INDEX_FILE, INDEXED, RecordIndex, read_stretches

    _, out, rules = run
    meta = out / "_normalize"
    index = RecordIndex.load(meta)
    assert index is not None and index.flags == len(_flag_rows(out))
    assert set(index.ranges) == {json.loads(x)["file"] for x in (meta / "documents.jsonl").read_text().splitlines()}
    for col, name in enumerate(INDEXED):  # each stretch holds its file's records, and all of them are in one
        rows = (meta / name).read_text(encoding="utf-8").splitlines()
        got = []
        for rel, stretches in index.ranges.items():
            for lines in read_stretches(meta / name, [(r[2 * col], r[2 * col + 1]) for r in stretches]):
                assert {json.loads(x)["file"] for x in lines} <= {rel}
                got += [x.decode() for x in lines]
        assert sorted(got) == sorted(rows) and rows
    assert RecordIndex.load(meta, ["nato.txt"]).ranges.keys() == {"nato.txt"}

    files = {"nato.txt", "more/feed2.jsonl.gz"}
    parsed: list[str] = []
    whole_file = run_mod.iter_jsonl
    monkeypatch.setattr(run_mod, "iter_jsonl", lambda path: parsed.append(path.name) or whole_file(path))
    indexed, first = RunView(out, files=files), RunView(out, max_flags=3)
    assert parsed == ["flags.jsonl"]  # (the first 3 flags name the files of the view of them)
    assert _state(indexed)[0] and _state(indexed)[2]

    def unindexed(**kw) -> tuple:
        with monkeypatch.context() as m:
            m.setattr(run_mod, "held_records", lambda *a: None)
            return _state(RunView(out, **kw))

    assert _state(indexed) == unindexed(files=files) and _state(first) == unindexed(max_flags=3)

    # after apply, which adds its records at the end of edits.jsonl, the index still holds
    _decide_all(ReviewApp(out, "tester"))
    apply_decisions(out, rules, proposals=out.parent / "p.yaml")
    assert any(r["action"] == "review" for r in _edits(out)) and RecordIndex.load(meta) is not None
    assert _state(RunView(out, files=files)) == unindexed(files=files)
    assert RecordDigests.of_run(out, files) == {k: v for k, v in RecordDigests.of_run(out).items() if k in files}

    # offsets that point at another file's records: not used
    lines = (meta / INDEX_FILE).read_bytes().split(b"\n")
    assert [json.loads(x.split(b"\t")[0]) for x in lines[:2]] == ["feed.jsonl", "nato.txt"]
    (meta / INDEX_FILE).write_bytes(b"\n".join([lines[1].split(b"\t")[0] + b"\t" + lines[0].split(b"\t", 1)[1],
                                                 lines[0].split(b"\t")[0] + b"\t" + lines[1].split(b"\t", 1)[1],
                                                 *lines[2:]]))
    assert RecordIndex.load(meta) is not None and run_mod.held_records(meta, files) is None
    parsed.clear()
    assert _state(RunView(out, files=files)) == unindexed(files=files) and "documents.jsonl" in parsed
    # a record file that is not the one indexed, or no .assembled (a run was stopped before the end)
    (meta / INDEX_FILE).write_bytes(b"\n".join(lines))
    assembled, flags = (meta / ".assembled").read_bytes(), (meta / "flags.jsonl").read_bytes()
    for spoil in (lambda: (meta / ".assembled").unlink(), lambda: (meta / "flags.jsonl").write_bytes(flags + b"\n")):
        (meta / ".assembled").write_bytes(assembled)
        (meta / "flags.jsonl").write_bytes(flags)
        assert RecordIndex.load(meta) is not None
        spoil()
        assert RecordIndex.load(meta) is None
        assert _state(RunView(out, files=files)) == unindexed(files=files)


def test_the_review_app_shows_the_first_flags_of_a_large_run(run):
    _, out, _ = run
    total = len(_flag_rows(out))
    app = ReviewApp(out, "tester", max_flags=2)
    st = app.state()
    assert (st["run"]["flags"], st["run"]["flags_in_run"], len(st["flags"])) == (2, total, 2)
    only = ReviewApp(out, "tester", files=["feed.jsonl"]).state()
    assert {only["docs"][f["doc"]]["label"].split(",")[0] for f in only["flags"]} == {"feed.jsonl"}
    assert only["run"]["files"] == ["feed.jsonl"]
    everything = ReviewApp(out, "tester", max_flags=None).state()
    assert everything["run"]["flags"] == total == len(ReviewApp(out, "tester").state()["flags"])  # (under 5,000)
    # a decision on a flag the app does not hold is refused
    hidden = next(i for i in ReviewApp(out, "tester", max_flags=None).view.flags if i not in app.view.flags)
    with pytest.raises(Exception, match="unknown flag id"):
        app.decide({"action": "false-alarm", "flag": hidden})


def test_normalize_review_on_the_command_line_says_what_it_shows(run):
    import subprocess
    import sys
    import urllib.request

    _, out, _ = run
    total = len(_flag_rows(out))
    proc = subprocess.Popen([sys.executable, "-m", "normalize", "review", str(out), "--port", "0", "--max-flags", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = (proc.stdout.readline() if proc.stdout else "").strip()
        said = proc.stderr.readline() if proc.stderr else ""
        assert url.startswith("http://127.0.0.1:"), said
        assert f"the first 2 of {total} flags in {out}" in said
        with urllib.request.urlopen(url + "api/state", timeout=10) as resp:
            assert json.loads(resp.read())["run"]["flags"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_apply_reads_only_the_decided_files_and_writes_what_a_whole_view_would(run, monkeypatch, tmp_path):
    """apply holds the files the decisions name and those an earlier apply changed; the result
    is byte for byte what applying with the whole run in view gives, also when the decisions are
    thrown away and the files must go back to what the run wrote."""
    import normalize.review.apply as apply_mod

    _, out, rules = run
    written = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and "_normalize" not in p.parts}
    _decide_all(ReviewApp(out, "tester"))
    twin = tmp_path / "twin"
    shutil.copytree(out, twin)
    scopes = []
    scoped_view = apply_mod.RunView

    def spy(out_dir, files=None, max_flags=None):
        scopes.append(None if files is None else set(files))
        return scoped_view(out_dir, files=files, max_flags=max_flags) if Path(out_dir) == out else scoped_view(out_dir)

    monkeypatch.setattr(apply_mod, "RunView", spy)

    def tree(root: Path) -> dict:
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and p.name not in ("applied.jsonl", "review-proposals.yaml")}

    for _round in range(2):
        for where in (out, twin):
            apply_decisions(where, rules, proposals=tmp_path / f"{where.name}.yaml")
        assert tree(out) == tree(twin)
        (out / "_normalize" / "decisions.jsonl").unlink(missing_ok=True)  # a reviewer starts over
        (twin / "_normalize" / "decisions.jsonl").unlink(missing_ok=True)
    assert scopes[0] == {"nato.txt", "feed.jsonl", "more/feed2.jsonl.gz"}
    assert scopes[2] == {"nato.txt", "feed.jsonl", "more/feed2.jsonl.gz"}  # (from pre-review.json alone)
    assert {p: p.read_bytes() for p in written} == written  # back to the text the run wrote
    assert not any(r["action"] == "review" for r in _edits(out))

    # a decision that does not say its file (not written by the app) is looked for in the whole run
    fid = next(iter(RunView(out, files=["feed.jsonl"]).flags))
    DecisionStore(out).append({"reviewer": "script", "action": "false-alarm", "flag": fid})
    res = apply_decisions(out, rules, proposals=tmp_path / "p.yaml")
    assert scopes[-1] is None and [p.flag.id for p in res.applied] == [fid] and res.skipped == []


# -- the decisions store ------------------------------------------------------------------------
def test_decisions_append_reload_and_conflicts(tmp_path):
    (tmp_path / "_normalize").mkdir()
    store = DecisionStore(tmp_path)
    a = store.append({"reviewer": "ann", "action": "accept", "flag": "f1", "change": {"start": 1, "end": 2, "after": "x"}})
    assert a["id"] == decision_id(a) and a["time"].endswith("Z")
    store.append({"reviewer": "bob", "action": "correct", "flag": "f1", "change": {"start": 1, "end": 2, "after": "x"}})
    store.append({"reviewer": "ann", "action": "false-alarm", "flag": "f2"})
    store.append({"reviewer": "bob", "action": "accept", "flag": "f2", "change": {"start": 5, "end": 6, "after": "y"}})
    store.append({"reviewer": "ann", "action": "revert", "flag": "f3", "edit": "e1"})
    # a line cut short by a crash does not swallow the next one, and is skipped on reading
    with open(store.path, "ab") as fh:
        fh.write(b'{"reviewer": "cut", "action": "acc')
    store.append({"reviewer": "cat", "action": "false-alarm", "flag": "f4"})
    loaded = DecisionStore(tmp_path).load()
    assert [d["reviewer"] for d in loaded] == ["ann", "bob", "ann", "bob", "ann", "cat"]
    assert loaded[0] == a
    st = effective(loaded)
    # an accepted suggestion and a typed correction that make the same change agree
    assert not st["flag:f1"].conflict and st["flag:f1"].decision["reviewer"] == "bob"
    # a false alarm and an accept disagree: a conflict, and no decision to apply
    assert st["flag:f2"].conflict and st["flag:f2"].decision is None
    assert set(st) == {"flag:f1", "flag:f2", "edit:e1", "flag:f4"}
    # latest per reviewer counts: ann changes her mind, the conflict is gone
    store.append({"reviewer": "ann", "action": "accept", "flag": "f2", "change": {"start": 5, "end": 6, "after": "y"}})
    st = effective(store.load())
    assert not st["flag:f2"].conflict and st["flag:f2"].decision["action"] == "accept"
    # clear withdraws
    store.append({"reviewer": "ann", "action": "clear", "flag": "f2"})
    store.append({"reviewer": "bob", "action": "clear", "flag": "f2"})
    assert effective(store.load())["flag:f2"].decision is None
    assert all(line.endswith("}") for line in store.path.read_text(encoding="utf-8").splitlines()[-3:])


def test_decisions_never_follow_a_link_out(tmp_path):
    (tmp_path / "_normalize").mkdir()
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    (tmp_path / "_normalize" / "decisions.jsonl").symlink_to(outside)
    with pytest.raises(OSError):
        DecisionStore(tmp_path).append({"reviewer": "ann", "action": "false-alarm", "flag": "f"})
    assert outside.read_text() == ""


# -- the server -----------------------------------------------------------------------------------
@pytest.fixture
def server(run):
    srv = make_server(run[1], port=0, reviewer="tester")
    serve_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


def request(srv, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            length: int | None = None) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    hdrs = {"Host": f"{srv.host}:{srv.port}", **(headers or {})}
    if body is not None or length is not None:
        hdrs.setdefault("Content-Length", str(length if length is not None else len(body or b"")))
    for k, v in hdrs.items():
        if v is not None:
            conn.putheader(k, v)
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    try:
        obj = json.loads(data)
    except ValueError:
        obj = {"raw": data.decode("utf-8", "replace")}
    return resp.status, obj, dict(resp.getheaders())


def post(srv, obj, token: str | None = "", **kw):
    headers = {"Content-Type": "application/json", "X-Review-Token": srv.app.token if token == "" else token}
    headers.update(kw.pop("headers", {}))
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return request(srv, "POST", "/api/decision", body, headers, **kw)


def test_server_binds_loopback_and_serves_the_page(server):
    assert server.server_address[0] == "127.0.0.1"
    status, page, headers = request(server, "GET", "/")
    assert status == 200 and server.app.token in page["raw"]
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "http" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, state, _ = request(server, "GET", "/api/state")
    assert status == 200 and len(state["flags"]) == len(server.app.view.flags) == 8
    assert state["reviewer"] == "tester" and state["decisions"] == {}
    f16 = next(f for f in state["flags"] if "F-16" in f["text"])
    assert f16["reasons"][0]["change"] == {"before": "F-16 bombers", "after": "F-16 fighter jets"}
    ctx = f16["context"]
    assert ctx["text"][ctx["start"] : ctx["end"]] == f16["text"]
    assert request(server, "GET", "/../../etc/passwd")[0] == 404
    with pytest.raises(ValueError):
        make_server(server.app.view.out_dir, host="0.0.0.0", port=0)


def test_server_validates_every_post(server):
    fid = flag_with(server.app, "F-16")
    ok = {"action": "accept", "flag": fid, "reason": 0}
    assert post(server, b"{not json")[0] == 400
    assert post(server, b"\xff\xfe")[0] == 400
    assert post(server, [1, 2])[0] == 400
    assert post(server, {"action": "accept", "flag": "0123456789abcdef", "reason": 0})[0] == 404
    assert post(server, {"action": "delete-everything", "flag": fid})[0] == 400
    assert post(server, {**ok, "reason": 7})[0] == 400
    assert post(server, {**ok, "path": "../../x"})[0] == 400
    assert post(server, {**ok, "reviewer": "a\nb"})[0] == 400
    assert post(server, {"action": "correct", "flag": fid, "text": server.app.view.flags[fid].text})[0] == 400
    assert post(server, {"action": "revert", "flag": fid, "edit": "nope"})[0] == 404
    status, err, _ = post(server, b"x" * 10, length=MAX_BODY + 1)
    assert status == 413 and "too large" in err["error"]
    assert post(server, ok, headers={"Content-Type": "text/plain"})[0] == 415
    assert post(server, ok, token=None)[0] == 403
    assert post(server, ok, token="guess")[0] == 403
    assert post(server, ok, headers={"Host": "evil.example:80"})[0] == 403
    assert post(server, ok, headers={"Origin": "http://evil.example"})[0] == 403
    assert request(server, "PUT", "/api/decision", b"{}", {"Content-Type": "application/json"})[0] == 405
    assert not (server.app.view.meta / "decisions.jsonl").exists()  # nothing was saved
    status, res, _ = post(server, {**ok, "reviewer": "ann"})
    assert status == 200 and res["state"]["latest"][0]["reviewer"] == "ann"
    saved = [json.loads(x) for x in (server.app.view.meta / "decisions.jsonl").read_text().splitlines()]
    at = (server.app.view.out_dir / "nato.txt").read_text(encoding="utf-8").index("F-16 bombers")
    assert len(saved) == 1 and saved[0]["change"] == {"start": at, "end": at + 12, "before": "F-16 bombers",
                                                       "after": "F-16 fighter jets"}
    assert saved[0]["reviewer"] == "ann" and saved[0]["time"][:2] == "20"
    # a second reviewer disagrees: the state says conflict, nothing is overwritten
    post(server, {"action": "false-alarm", "flag": fid, "reviewer": "bob"})
    state = request(server, "GET", "/api/state")[1]
    assert state["decisions"][f"flag:{fid}"]["conflict"] is True
    assert len((server.app.view.meta / "decisions.jsonl").read_text().splitlines()) == 2
    written = sorted(p.name for p in server.app.view.meta.iterdir())
    assert "decisions.jsonl" in written and not any(p.name.startswith(".") for p in server.app.view.out_dir.iterdir())


# -- apply ----------------------------------------------------------------------------------------
def _decide_all(app: ReviewApp) -> dict[str, str]:
    """A realistic set of decisions on the test run; returns the flag ids by name."""
    ids = {
        "f16": flag_with(app, "F-16 bombers"),
        "ermakov": flag_with(app, "Sergei Ermakov"),
        "also": flag_with(app, "Also: The Coalition"),
        "east": flag_with(app, "would not withdraw"),
        "feed1": flag_with(app, "met in Brussels", "feed.jsonl"),
        "feed3": flag_with(app, "Kremlin", "feed.jsonl"),
        "gz3": flag_with(app, "Kremlin", "more/feed2.jsonl.gz"),
    }
    app.decide({"action": "accept", "flag": ids["f16"], "reason": 0, "reviewer": "ann"})
    app.decide({"action": "accept", "flag": ids["ermakov"], "reason": 0, "reviewer": "ann"})
    app.decide({"action": "false-alarm", "flag": ids["also"], "reviewer": "ann", "note": "a real coalition"})
    # ann and bob disagree on this one: apply skips it
    app.decide({"action": "accept", "flag": ids["east"], "reason": 0, "reviewer": "ann"})
    app.decide({"action": "false-alarm", "flag": ids["east"], "reviewer": "bob"})
    # JSONL: a typed correction in the record of input line 3, an accept in line 1 (gz too)
    app.decide({"action": "correct", "flag": ids["feed3"], "reviewer": "bob",
                "text": "Stoltenberg said the Alliance and the Kremlin would talk again in May."})
    app.decide({"action": "accept", "flag": ids["gz3"], "reason": 0, "reviewer": "bob"})
    # revert the automatic punctuation fix in feed.jsonl line 1 ("Brussels , NATO")
    f1 = app.view.flags[ids["feed1"]]
    edit = next(e for e in f1.near_edits() if e.rec["rule"] == "space-before-punctuation")
    app.decide({"action": "revert", "flag": ids["feed1"], "edit": edit.id, "reviewer": "cat"})
    return ids


def _edits(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "_normalize" / "edits.jsonl").read_text(encoding="utf-8").splitlines()]


def test_apply_changes_documents_records_review_edits_and_is_idempotent(run):
    corpus, out, rules = run
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and "_normalize" not in p.parts}
    run_edits = _edits(out)
    app = ReviewApp(out, "tester")
    _decide_all(app)
    res = apply_decisions(out, rules)
    assert res.ok, res.proposal_issues
    assert [st.key for st in res.conflicts] == [f"flag:{flag_with(app, 'would not withdraw')}"]
    assert res.skipped == []
    assert sorted(res.files_written) == ["feed.jsonl", "more/feed2.jsonl.gz", "nato.txt"]

    text = (out / "nato.txt").read_text(encoding="utf-8")
    assert "four F-16 fighter jets to Lithuania" in text and "Sergei Yermakov said" in text
    assert "Also: The Coalition does not" in text and "He said the Coalition would not" in text  # skipped
    feed = (out / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(feed[0]) == {"id": 1, "title": "first", "text": "The Coalition met in Brussels , NATO said on Monday."}
    assert json.loads(feed[1]) == {"id": 3, "text": "Stoltenberg said the Alliance and the Kremlin would talk again in May.",
                                   "extra": [1, 2]}
    gz = gzip.decompress((out / "more" / "feed2.jsonl.gz").read_bytes()).decode().splitlines()
    assert json.loads(gz[1])["text"] == "Stoltenberg said the Alliance and the Kremlin would talk again in May."
    assert gz[0].encode() == gzip.decompress(before[out / "more" / "feed2.jsonl.gz"]).splitlines()[0]  # untouched record

    # edits.jsonl: the run's records as they were, then one "review" record per change, with
    # offsets into the cleaned document before review
    edits = _edits(out)
    assert edits[: len(run_edits)] == run_edits
    review = edits[len(run_edits) :]
    assert {r["action"] for r in review} == {"review"} and len(review) == 5
    assert {(r["file"], r.get("line"), r["rule"], r["before"], r["after"]) for r in review} == {
        ("nato.txt", None, "accept", "F-16 bombers", "F-16 fighter jets"),
        ("nato.txt", None, "accept", "Ermakov", "Yermakov"),
        ("feed.jsonl", 1, "revert", "", " "),
        ("feed.jsonl", 3, "correct", "Coalition", "Alliance"),
        ("more/feed2.jsonl.gz", 3, "accept", "the Coalition", "the Alliance"),
    }
    assert all(r["reviewer"] and r["time"] and r["decision"] and r["flag"] for r in review)
    pre = before[out / "nato.txt"].decode()
    mine = [r for r in review if r["file"] == "nato.txt"]
    assert apply_review_edits(pre, mine) == text
    original = (corpus / "nato.txt").read_text(encoding="utf-8")
    assert normalize.replay(original, [e for e in edits if e["file"] == "nato.txt" and e["action"] != "review"]) == pre

    # the review app still reads the pre-review text: the flags' offsets stay valid
    assert all(f.located for f in RunView(out).flags.values())
    applied = (out / "_normalize" / "applied.jsonl").read_text().splitlines()
    assert len(applied) == 6 and len(res.new) == 6  # every decision in effect; not the conflict

    # idempotent: a second apply writes nothing and records nothing new
    snapshot = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    res2 = apply_decisions(out, rules)
    assert res2.files_written == [] and res2.new == []
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot

    # a reviewer withdraws a decision: the next apply puts the text back as the run wrote it
    ReviewApp(out, "x").decide({"action": "clear", "flag": flag_with(app, "Kremlin", "more/feed2.jsonl.gz"),
                                "reviewer": "bob"})
    apply_decisions(out, rules)
    assert (out / "more" / "feed2.jsonl.gz").read_bytes() == before[out / "more" / "feed2.jsonl.gz"]
    assert not any(r.get("file") == "more/feed2.jsonl.gz" and r["action"] == "review" for r in _edits(out))


def test_apply_from_the_command_line_reports_conflicts(run):
    _, out, rules = run
    app = ReviewApp(out, "tester")
    fid = flag_with(app, "F-16")
    app.decide({"action": "accept", "flag": fid, "reason": 0, "reviewer": "ann"})
    app.decide({"action": "false-alarm", "flag": fid, "reviewer": "bob"})
    res = CliRunner().invoke(main, ["apply", str(out), "--rules", str(rules)])
    assert res.exit_code == 0, res.output
    assert f"conflict on flag:{fid} in nato.txt: ann (accept), bob (false-alarm); skipped" in res.output
    assert "F-16 bombers" in (out / "nato.txt").read_text(encoding="utf-8")
    assert CliRunner().invoke(main, ["apply", str(out.parent / "nowhere")]).exit_code == 2


# -- proposals ------------------------------------------------------------------------------------
def test_proposals_pass_rules_check_and_teach_the_next_run(run):
    corpus, out, rules = run
    _decide_all(ReviewApp(out, "tester"))
    res = apply_decisions(out, rules)
    path = rules / "gazetteer" / "review-proposals.yaml"
    assert res.proposals_written and res.proposals_path == path
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MARKER)

    # readable YAML in the gazetteer's format, with provenance comments
    data = yaml.safe_load(text)
    new = {e["name"]: e for e in data["entries"] if "name" in e}
    ext = {e["extends"]: e for e in data["entries"] if "extends" in e}
    assert new["F-16 fighter jets"]["garbles"] == [{"text": "F-16 bombers", "context": {"any": ["F-16"], "window": "sentence"}}]
    assert new["Yermakov"]["type"] == "person" and new["Yermakov"]["variants"] == ["Ermakov"]
    assert ext["North Atlantic Treaty Organization"]["never"] == ["Also: The Coalition does not"]
    # bob's typed correction of a calque ("the Coalition" -> "the Alliance"): a garble with the calque's guard
    assert new["Alliance"]["garbles"] == [{"text": "Coalition", "context": {"any": ["NATO", "Stoltenberg"],
                                                                            "window": "paragraph"}}]
    assert "# accept by ann, " in text and "nato.txt, flag " in text
    assert "#   sentence: Denmark will send four F-16 bombers to Lithuania." in text
    assert "#   'F-16 bombers' -> 'F-16 fighter jets' (calque)" in text
    assert "false-alarm by ann" in text
    assert "He said the Coalition would not" not in text  # the conflict proposes nothing

    # `normalize rules check` passes
    check = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert check.exit_code == 0, check.output
    rs = RuleSet.load(rules)
    assert rs.errors == []

    # a later run with these rules makes the accepted corrections itself, and the false alarm is gone
    n = normalize.Normalizer(rs, flagger=False)
    result = n.clean((corpus / "nato.txt").read_text(encoding="utf-8"))
    assert "four F-16 fighter jets to Lithuania" in result.text
    assert "Sergei Yermakov said" in result.text
    assert not [f for f in result.flags if "Also: The Coalition" in f.text]
    assert [f.text for f in result.flags if "would not withdraw" in f.text]  # the conflict: still flagged

    # applying again rewrites the same file; proposals outlive the flags that prompted them
    apply_decisions(out, rules)
    assert path.read_text(encoding="utf-8") == text
    res_run = CliRunner().invoke(main, ["run", str(corpus), str(out), "--rules", str(rules), "--no-flagger", "-q", "-j", "1"])
    assert res_run.exit_code == 1, res_run.output
    res3 = apply_decisions(out, rules)
    assert path.read_text(encoding="utf-8") == text
    assert {why for _, why in res3.skipped} == {"stale: the flag is not in this run"}
    assert all(f.located for f in RunView(out).flags.values())


def test_proposals_extend_known_entries_and_protect_names(run):
    corpus, out, rules = run
    # a correction that names a known person: the wrong form becomes that entry's variant
    (out / "_normalize" / "decisions.jsonl").unlink(missing_ok=True)
    app = ReviewApp(out, "tester")
    fid = flag_with(app, "Sergei Ermakov")
    app.decide({"action": "correct", "flag": fid, "reviewer": "ann",
                "text": "In an interview, the expert Alexander Grushko said the talks had failed."})
    app.decide({"action": "false-alarm", "flag": flag_with(app, "F-16"), "reviewer": "ann"})
    res = apply_decisions(out, rules, proposals=out.parent / "elsewhere.yaml")
    assert res.ok and res.proposals_path == out.parent / "elsewhere.yaml"
    data = yaml.safe_load(res.proposals_path.read_text(encoding="utf-8"))
    assert {"extends": "Alexander Grushko", "variants": ["Sergei Ermakov"], "note": "proposed by review (ann)"} \
        in data["entries"]
    f16 = next(e for e in data["entries"] if e.get("extends") == "F-16 Fighting Falcon")
    assert f16["never"] == ["send four F-16 bombers to Lithuania"]
    assert not (rules / "gazetteer" / "review-proposals.yaml").exists()
    # a false alarm on a name rule protects the name
    (out / "_normalize" / "decisions.jsonl").unlink()
    app.decide({"action": "false-alarm", "flag": fid, "reviewer": "ann"})
    res = apply_decisions(out, rules)
    assert yaml.safe_load(res.proposals_path.read_text(encoding="utf-8"))["protected"] == ["Ermakov"]
    assert RuleSet.load(rules).errors == []
    flags = normalize.Normalizer(rules, flagger=False).clean((corpus / "nato.txt").read_text(encoding="utf-8")).flags
    assert flags and not any(r.code == "inconsistent-spelling" for f in flags for r in f.reasons)


def test_proposals_never_overwrite_a_curated_file(run):
    _, out, rules = run
    app = ReviewApp(out, "tester")
    app.decide({"action": "accept", "flag": flag_with(app, "F-16"), "reason": 0, "reviewer": "ann"})
    res = CliRunner().invoke(main, ["apply", str(out), "--rules", str(rules), "--proposals",
                                    str(rules / "gazetteer" / "people.yaml")])
    assert res.exit_code == 2 and "not a proposals file" in res.output
    assert "F-16 bombers" in (out / "nato.txt").read_text(encoding="utf-8")  # nothing was written
    assert not (out / "_normalize" / "applied.jsonl").exists()


def test_yaml_quoting_survives_hostile_text():
    for s in ['a "b" \\ c', "line\nbreak", "\u2028tab\there", "colon: yes", "# not a comment", "'q'", "é ü ß Nausėda"]:
        assert yaml.safe_load(f"x: {q(s)}")["x"] == s


# -- the gazetteer: extends and calques ------------------------------------------------------------
def _gaz(tmp_path: Path, files: dict[str, str]) -> tuple[Gazetteer, list]:
    rules = _rules_copy(tmp_path / "rules")
    for name, text in files.items():
        (rules / "gazetteer" / name).write_text(text, encoding="utf-8")
    rs = RuleSet.load(rules)
    issues: list = []
    return Gazetteer.from_rules(rs, issues), issues


def test_gazetteer_extends_adds_forms_and_never_phrases(tmp_path):
    g, issues = _gaz(tmp_path, {"00-extra.yaml": (
        "entries:\n"
        "  - extends: Alexander Grushko\n"
        "    variants: [Alexander Khrushko]\n"
        "    never: [Alexander Khrushko of Minsk]\n"
        "  - extends: North Atlantic Treaty Organization\n"
        "    never: [the Coalition government]\n"
        "    note: from a review\n")})
    assert [str(i) for i in issues] == []
    grushko = next(e for e in g.entries if e.name == "Alexander Grushko")
    assert grushko.never == ("Alexander Khrushko of Minsk",)
    assert any(f.text == "Alexander Khrushko" and f.kind == "variant" and g.entries[f.entry] is grushko for f in g.forms)
    n = normalize.Normalizer(tmp_path / "rules", flagger=False)
    assert n.clean("Deputy Foreign Minister Alexander Khrushko spoke.").text == \
        "Deputy Foreign Minister Alexander Grushko spoke."
    assert "Khrushko of Minsk" in n.clean("Alexander Khrushko of Minsk spoke.").text
    assert n.clean("NATO said the Coalition government fell.").flags == []


def test_gazetteer_extends_errors(tmp_path):
    _, issues = _gaz(tmp_path, {"zz.yaml": (
        "entries:\n"
        "  - extends: Nobody Known\n"
        "    variants: [Nobody Knwon]\n"
        "  - extends: Alexander Grushko\n"
        "    roles: []\n"
        "  - extends: Alexander Grushko\n"
        "    variants: [Andrej Duda]\n")})
    messages = [str(i) for i in issues]
    assert "rules/gazetteer/zz.yaml:2: extends 'Nobody Known': no entry has this name" in messages
    assert any(m.startswith("rules/gazetteer/zz.yaml:4: extends 'Alexander Grushko': field 'roles' cannot be extended")
               for m in messages)
    assert any("variant 'Andrej Duda' points at 'Alexander Grushko' and at 'Andrzej Duda'" in m for m in messages)


def test_gazetteer_variant_may_share_a_calque_text_in_any_file_order(tmp_path):
    entry = "entries:\n  - name: F-16 fighter jets\n    type: term\n    garbles: [F-16 bombers]\n"
    for name in ("00-first.yaml", "zz-last.yaml"):
        shutil.rmtree(tmp_path / "rules", ignore_errors=True)
        _, issues = _gaz(tmp_path, {name: entry})
        assert [i for i in issues if i.level == "error"] == []
        n = normalize.Normalizer(tmp_path / "rules", flagger=False)
        res = n.clean("Denmark will send four F-16 bombers to Lithuania.")
        assert res.text == "Denmark will send four F-16 fighter jets to Lithuania." and res.flags == []


def test_apply_after_an_incremental_rerun(run):
    """A new `normalize run` with the same rules reuses its results and keeps the reviewed outputs,
    but rebuilds edits.jsonl without the review records: the review app still reads the pre-review
    text, and apply records the review edits again."""
    corpus, out, rules = run
    app = ReviewApp(out, "tester")
    app.decide({"action": "accept", "flag": flag_with(app, "F-16"), "reason": 0, "reviewer": "ann"})
    proposals = out.parent / "proposals.yaml"  # not in the rules: the next run's results are reused
    apply_decisions(out, rules, proposals)
    reviewed = (out / "nato.txt").read_bytes()
    res = CliRunner().invoke(main, ["run", str(corpus), str(out), "--rules", str(rules), "--no-flagger", "-q", "-j", "1"])
    assert res.exit_code == 1, res.output
    assert (out / "nato.txt").read_bytes() == reviewed
    units = json.loads((out / "_normalize" / "summary.json").read_text()).get("units")
    assert units is None or units["reused"] >= 1  # nato.txt (files with a failed line may be redone)
    assert all(f.located for f in RunView(out).flags.values())
    assert apply_decisions(out, rules, proposals).files_written == []
    assert [(r["before"], r["after"]) for r in _edits(out) if r["action"] == "review"] == [("F-16 bombers", "F-16 fighter jets")]


def test_the_page_never_parses_data_as_html():
    from normalize.review.page import APP_JS, render_page

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in APP_JS
    page = render_page('tok"en', '<img src=x onerror=alert(1)>')
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and 'content="tok&quot;en"' in page


# -- the run's report after review ------------------------------------------------------------------
def _report_places_everything(out: Path) -> str:
    """Every flag of the report at its recorded offsets in the text the run wrote, the edits of
    every flagged document replayed onto it; returns the page."""
    from normalize.report import _edit_positions, _load, _locate, render_report

    run = _load(out, 10_000, 10_000)
    flagged = [d for d in run.docs.values() if d.flags]
    assert flagged
    for doc in flagged:
        assert doc.text is not None, doc.label
        for f in doc.flags:
            assert _locate(doc.text, f) == (f["start"], f["end"]), (doc.label, f["text"])
        if doc.edits:
            assert _edit_positions(doc) is not None, doc.label
    page = render_report(out)
    assert "could not be read" not in page
    return page


def test_report_after_apply_shows_the_text_the_run_wrote(run):
    """Flags and edits refer to the text the run wrote. After apply changed some outputs, a report
    made again (by hand, or by a later run that reuses the results) reads their pre-review copies,
    leaves the review records out of the automatic edits, and says how many there are."""
    corpus, out, rules = run
    app = ReviewApp(out, "tester")
    _decide_all(app)
    proposals = out.parent / "proposals.yaml"
    result = apply_decisions(out, rules, proposals)
    assert result.files_written
    reviews = [r for r in _edits(out) if r["action"] == "review"]
    assert reviews
    page = _report_places_everything(out)
    assert "F-16 bombers" in page  # the sentence as flagged, not as reviewed
    assert f"{len(reviews)} review edits" in page
    # a later run with the same rules reuses its results, keeps the reviewed outputs and writes
    # the report again
    res = CliRunner().invoke(main, ["run", str(corpus), str(out), "--rules", str(rules), "--no-flagger", "-q", "-j", "1"])
    assert res.exit_code == 1, res.output
    assert "fighter jets" in (out / "nato.txt").read_text(encoding="utf-8")
    page = (out / "_normalize" / "report.html").read_text(encoding="utf-8")
    assert "could not be read" not in page and "F-16 bombers" in page
    _report_places_everything(out)


def test_agreeing_decisions_in_one_millisecond_go_by_file_order():
    """Two reviewers who agree within the same millisecond: the later line of the file is the
    decision applied (and named in the review record), whatever the reviewers' names."""
    same = "2026-11-23T10:00:00.000Z"
    change = {"start": 1, "end": 2, "after": "x"}
    for first, second in (("ann", "bob"), ("bob", "ann")):
        st = effective([{"reviewer": first, "action": "accept", "flag": "f1", "change": change, "time": same},
                        {"reviewer": second, "action": "correct", "flag": "f1", "change": change, "time": same}])
        assert not st["flag:f1"].conflict and st["flag:f1"].decision["reviewer"] == second
