"""Synthetic finished runs for the report tests: OUT/<docs> and OUT/_normalize/ as the runner
writes them, with flags on several documents (the real flagger may not produce any yet).

Everything is computed from the input texts and the edits, so the audit trail is consistent:
replaying a document's edits on its input gives the cleaned text, and flag offsets point into
the cleaned text. Hostile strings are there on purpose: the report must show them as text.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_FILE = 'x"><img src=x onerror=alert(3)>.txt'
TEXT_FIELD = "body"

# (before, after, pass, rule, action, confidence[, reason]); before must occur once in the input
Edit = tuple
# (sentence of the cleaned text, confidence, [(code, message, suggestion or None)])
Flag = tuple

NATO_IN = (
    "© NATO image\nTuesday's joint press conference\n\n"
    "Polish President Andrej Doubt met Lithuanian President Gypsy Nausėda in Vilnius on Tuesday. "
    "Both leaders called on the Alliance to honour Section 5 . The mood was lazy.\n\n"
    "Deputy Foreign Minister Alexander Khrushko said Moscow would respond. "
    "“We will not accept this “, he said.\n\n"
    "The Improved Forward Balance battlegroups stay in the Baltic states.\n"
    "\nKeep reading:\nRussia placed a satellite into orbit\nSource-www.example.com\n"
)
NATO_EDITS = [
    ("© NATO image\nTuesday's joint press conference\n\n", "", "debris", "copyright-credit", "remove", 0.95),
    ("Section 5 .", "Section 5.", "punctuation", "space-before-period", "fix", 1.0),
    ("Andrej Doubt", "Andrzej Duda", "names", "literal-name", "suggest", 0.4,
     "“Andrej Doubt” looks like Andrzej Duda translated word by word"),
    (" “,", "”,", "punctuation", "misdirected-closing-quote", "fix", 1.0),
    ("\n\nKeep reading:\nRussia placed a satellite into orbit\nSource-www.example.com\n", "\n",
     "debris", "headline-list", "remove", 0.9),
]
NATO_FLAGS = [
    ("Polish President Andrej Doubt met Lithuanian President Gypsy Nausėda in Vilnius on Tuesday.", 0.4,
     [("literal-name", "“Andrej Doubt” looks like Andrzej Duda translated word by word", "Andrzej Duda"),
      ("literal-name", "“Gypsy Nausėda” looks like Gitanas Nausėda translated word by word",
       "Gitanas Nausėda")]),
    ("Both leaders called on the Alliance to honour Section 5.", 0.55,
     [("literal-term", "NATO's collective defence clause is Article 5", "Article 5")]),
    ("The mood was lazy.", 0.2, [("fluency", "The sentence reads as a mistranslation", None)]),
    ("Deputy Foreign Minister Alexander Khrushko said Moscow would respond.", 0.3,
     [("literal-name", "Probably Alexander Grushko, Russia's deputy foreign minister", "Alexander Grushko")]),
    ("The Improved Forward Balance battlegroups stay in the Baltic states.", 0.6,
     [("literal-term", "NATO calls these the Enhanced Forward Presence", "Enhanced Forward Presence")]),
]

HOSTILE_IN = (
    "Markup survived the scrape.\n\n"
    f"The minister wrote {SCRIPT} on the page. A caption read {IMG} and nothing  else.\n\n"
    "Prices & wages rose by 5% < 7% > 3%.\n"
)
HOSTILE_EDITS = [
    ("nothing  else", "nothing else", "punctuation", "double-space", "fix", 1.0),
]
HOSTILE_FLAGS = [
    (f"The minister wrote {SCRIPT} on the page.", 0.1,
     [("markup", f"HTML left in the text: {SCRIPT}", "</script><script>alert(2)</script>")]),
    (f"A caption read {IMG} and nothing else.", 0.25,
     [("markup", f"HTML left in the text: {IMG}", None),
      ("fluency", "Tags & <b>entities</b> are not prose", IMG)]),
]

LINES_IN = (
    "One paragraph a line, as many scraped articles come.\n"
    "The federation answered in writing on Wednesday.\n"
    "This line is the next paragraph and is not context.\n"
)
LINES_FLAGS = [("The federation answered in writing on Wednesday.", 0.4,
                [("calque", "'the federation' looks like a literal translation of NATO", "the Alliance")])]

CLEAN_IN = "Nothing to flag here. \nJust a trailing space.\n"
CLEAN_EDITS = [(" \nJust", "\nJust", "punctuation", "trailing-whitespace", "fix", 1.0)]

JSONL_LINES: list[Any] = [
    {"id": 1, TEXT_FIELD: "Der Minister said that the talks were friendly.\n\nThey will go on in May .",
     "lang": "de"},
    "{not json",
    "",
    {"id": 4, TEXT_FIELD: "Opening remarks.\n\nThe private parts of Ukraine were shelled at night. "
                          "Officials , however, denied it.", "lang": "ru"},
    {"id": 5, TEXT_FIELD: "A quiet record with no flags.", "lang": "es"},
]
JSONL_EDITS = {
    1: [(" May .", " May.", "punctuation", "space-before-period", "fix", 1.0)],
    4: [("Officials ,", "Officials,", "punctuation", "space-before-comma", "fix", 1.0)],
}
JSONL_FLAGS = {
    1: [("Der Minister said that the talks were friendly.", 0.35,
         [("untranslated", "Part of the sentence is still German", "The minister said")])],
    4: [("The private parts of Ukraine were shelled at night.", 0.15,
         [("fluency", "“private parts” is a mistranslation of “certain parts”", "Some parts of Ukraine")])],
}
GZ_LINES = [{"id": 9, TEXT_FIELD: "Short one. It was translated bad."}]
GZ_FLAGS = {1: [("It was translated bad.", 0.5, [("fluency", "Ungrammatical", "It was translated badly.")])]}


def _apply(text: str, specs: list[Edit]) -> tuple[str, list[dict[str, Any]]]:
    edits = []
    for spec in specs:
        before, after, pass_name, rule, action, conf, *reason = spec
        assert text.count(before) == 1, before
        start = text.index(before)
        e = {"pass": pass_name, "rule": rule, "action": action, "start": start,
             "end": start + len(before), "before": before, "after": after, "confidence": conf}
        if reason:
            e["reason"] = reason[0]
        edits.append(e)
    edits.sort(key=lambda e: e["start"])
    out, pos = [], 0
    for e in edits:
        if e["action"] == "suggest":
            continue
        out.append(text[pos:e["start"]])
        out.append(e["after"])
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out), edits


def _flags(cleaned: str, specs: list[Flag]) -> list[dict[str, Any]]:
    flags = []
    for sentence, conf, reasons in specs:
        assert cleaned.count(sentence) == 1, sentence
        start = cleaned.index(sentence)
        flags.append({"start": start, "end": start + len(sentence), "text": sentence, "confidence": conf,
                      "reasons": [{"code": c, "message": m, "suggestion": s} for c, m, s in reasons]})
    return flags


class _Run:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.docs: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.seen = 0

    def doc(self, rel: str, line: int | None, text: str, edit_specs: list[Edit],
            flag_specs: list[Flag]) -> str:
        cleaned, edits = _apply(text, edit_specs)
        flags = _flags(cleaned, flag_specs)
        head = {"file": rel, **({"line": line} if line is not None else {})}
        self.seen += 1
        self.docs.append({**head, **({} if line else {"encoding": "utf-8"}), "chars_in": len(text),
                          "chars_out": len(cleaned), "edits": len(edits), "flags": len(flags),
                          "metadata": {}})
        self.edits += [{**head, **e} for e in edits]
        self.flags += [{**head, **f} for f in flags]
        return cleaned

    def txt(self, rel: str, text: str, edits: list[Edit], flags: list[Flag]) -> None:
        cleaned = self.doc(rel, None, text, edits, flags)
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cleaned, encoding="utf-8")

    def jsonl(self, rel: str, lines: list[Any], edits: dict[int, list[Edit]],
              flags: dict[int, list[Flag]]) -> None:
        records = []
        for n, item in enumerate(lines, 1):
            if item == "":
                continue
            if isinstance(item, str):
                self.seen += 1
                self.errors.append({"file": rel, "line": n, "error": "input",
                                    "message": "invalid JSON: Expecting property name", "raw": item})
                continue
            cleaned = self.doc(rel, n, item[TEXT_FIELD], edits.get(n, []), flags.get(n, []))
            records.append(json.dumps({**item, TEXT_FIELD: cleaned}, ensure_ascii=False))
        data = ("\n".join(records) + "\n").encode("utf-8")
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, mtime=0) if rel.endswith(".gz") else data)

    def finish(self) -> dict[str, Any]:
        meta = self.out / "_normalize"
        meta.mkdir(parents=True, exist_ok=True)
        for name, rows in (("documents.jsonl", self.docs), ("edits.jsonl", self.edits),
                           ("flags.jsonl", self.flags), ("errors.jsonl", self.errors)):
            (meta / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                     encoding="utf-8")
        by_reason = Counter(r["code"] for f in self.flags for r in f["reasons"])
        summary = {
            "tool": {"name": "normalize", "version": "0.1.0"},
            "rules": {"dir": "rules", "version": "fixture"},
            "config": {"only": [], "skip": [], "text_field": TEXT_FIELD},
            "input": "fixture_in", "output": str(self.out),
            "files": {"seen": len({d["file"] for d in self.docs}), "with_errors": len(self.errors)},
            "documents": {"seen": self.seen, "written": len(self.docs), "failed": self.seen - len(self.docs)},
            "characters": {"input": sum(d["chars_in"] for d in self.docs),
                           "output": sum(d["chars_out"] for d in self.docs)},
            "edits": {"total": len(self.edits),
                      "by_action": dict(sorted(Counter(e["action"] for e in self.edits).items())),
                      "by_pass": dict(sorted(Counter(e["pass"] for e in self.edits).items())),
                      "by_rule": dict(sorted(Counter(f"{e['pass']}/{e['rule']}" for e in self.edits).items()))},
            "flags": {"total": len(self.flags), "by_reason": dict(sorted(by_reason.items()))},
            "errors": {"total": len(self.errors), "by_kind": dict(Counter(e["error"] for e in self.errors))},
            "timings": {"wall_seconds": 0.0, "jobs": 1, "pass_cpu_seconds": {}},
        }
        (meta / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
        return summary


def build_run(out: Path, *, hostile_name: bool = True) -> dict[str, Any]:
    """Write a synthetic finished run into ``out``; return its summary."""
    run = _Run(Path(out))
    run.txt("010_nato.txt", NATO_IN, NATO_EDITS, NATO_FLAGS)
    run.txt("020_hostile.txt", HOSTILE_IN, HOSTILE_EDITS, HOSTILE_FLAGS)
    run.txt("030_clean.txt", CLEAN_IN, CLEAN_EDITS, [])
    run.txt("040_lines.txt", LINES_IN, [], LINES_FLAGS)
    run.jsonl("feeds/batch.jsonl", JSONL_LINES, JSONL_EDITS, JSONL_FLAGS)
    run.jsonl("feeds/more.jsonl.gz", GZ_LINES, {}, GZ_FLAGS)
    if hostile_name:
        run.txt(HOSTILE_FILE, "Fine text. Strange name here.\n", [],
                [("Strange name here.", 0.7, [("file-name", f"Named {HOSTILE_FILE}", None)])])
    return run.finish()


def drop_flags(out: Path) -> None:
    """Make the run in ``out`` one without flags, as a run writes it: flags.jsonl empty and no
    flags counted in documents.jsonl (the report picks the documents it shows for their edits
    alone by those counts)."""
    meta = Path(out) / "_normalize"
    (meta / "flags.jsonl").write_text("", encoding="utf-8")
    docs = [json.loads(ln) for ln in (meta / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    (meta / "documents.jsonl").write_text("".join(json.dumps({**d, "flags": 0}, ensure_ascii=False) + "\n"
                                                  for d in docs), encoding="utf-8")


def build_big(out: Path, docs: int, flags_per_doc: int) -> dict[str, Any]:
    """A run with many documents and flags, for the caps."""
    run = _Run(Path(out))
    for d in range(docs):
        sentences = [f"Sentence {i} of document {d} is odd." for i in range(flags_per_doc)]
        text = "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)) + "\n"
        run.txt(f"big/{d:05d}.txt", text, [],
                [(s, (i % 10) / 10, [("fluency" if i % 2 else "literal-name", "Odd sentence", None)])
                 for i, s in enumerate(sentences)])
    return run.finish()
