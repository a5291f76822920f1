"""The review side of a large run: opening the review app and applying decisions, with the
whole run held in memory (as before 2026-12-03), with only the part shown or applied held but
every record parsed to find it (as before the index), and with that part read where the run's
index (OUT/_normalize/.by-file.tsv) says it is.

    python bench/review_scale.py [--copies 30] [--dir DIR] [--decisions 6]

Makes (or reuses) DIR/in<copies> (bench/at_scale.py's corpus, one file per article) and a run of
it in DIR/review<copies>, then measures, each in a fresh process (time and peak RSS):
1. the whole run as one view (``RunView(OUT)``: every document, edit and flag, every text);
2. the review app as ``normalize review OUT`` opens it (the first 5,000 flags and their files),
   finding their records by parsing every record (``parsed``) and through the index (``indexed``);
3. ``normalize apply OUT`` over a few decisions (accepted suggestions and false alarms on the
   first flags of different files), holding the whole run (``whole``), and holding only the files
   the decisions name and those an earlier apply changed, parsed and indexed; all three must
   leave the same bytes (the decided files, edits.jsonl, pre-review.json). Proposals go to a
   scratch file, not to the rules.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as bench_corpus

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
out, what = Path(sys.argv[1]), sys.argv[2]
if what.endswith("-parsed"):  # as before the index: every record parsed to find the held ones
    import normalize.review.run as R
    R.held_records = lambda *a, **k: None
    what = what[: -len("-parsed")]
t0 = time.perf_counter()
got = {}
if what == "whole":
    from normalize.review.run import RunView
    v = RunView(out)
    got = {"flags": len(v.flags), "docs": len(v.docs)}
elif what == "app":
    from normalize.review.server import ReviewApp
    app = ReviewApp(out)
    got = {"flags": len(app.view.flags), "docs": len(app.view.docs), "in_run": app.view.flags_in_run,
           "state_mb": len(json.dumps(app.state())) / 1e6}
else:
    import normalize.review.apply as A
    if what == "apply-whole":  # apply as it was: the whole run in one view
        whole = A.RunView
        A.RunView = lambda out_dir, files=None, max_flags=None: whole(out_dir)
    r = A.apply_decisions(out, proposals=Path(sys.argv[3]))
    import hashlib
    h = hashlib.sha256()  # what apply leaves: the decided files, the audit trail, the pre-review list
    files = sorted({d["file"] for d in A.DecisionStore(out).load()})
    for path in [out / f for f in files] + [out / "_normalize" / n for n in ("edits.jsonl", "pre-review.json")]:
        h.update(path.read_bytes() if path.is_file() else b"-")
    got = {"applied": len(r.applied), "skipped": len(r.skipped), "conflicts": len(r.conflicts),
           "files": len(files), "review_edits": r.review_edits, "digest": h.hexdigest()}
got["seconds"] = time.perf_counter() - t0
got["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(got))
"""


def child(out: Path, what: str, *extra: str) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD, str(out), what, *extra], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(res.stdout.strip().splitlines()[-1])


def decide(out: Path, n: int) -> int:
    """Decisions on flags of ``n`` different files among the first shown: half of them accepted
    suggestions (where one can be placed), the others false alarms. Returns how many were made."""
    from normalize.review.server import ReviewApp

    app = ReviewApp(out)
    seen: set[str] = set()
    bodies = []
    for want_change in (True, False):
        for fid, flag in app.view.flags.items():
            placed = [i for i, c in enumerate(flag.changes) if c is not None]
            if flag.doc.file in seen or bool(placed) != want_change:
                continue
            seen.add(flag.doc.file)
            bodies.append({"action": "accept", "flag": fid, "reason": placed[0]} if placed
                          else {"action": "false-alarm", "flag": fid})
            if len(bodies) >= (n + 1) // 2 * (1 if want_change else 2) or len(bodies) >= n:
                break
    for body in bodies:
        app.decide({**body, "reviewer": "bench"})
    return len(bodies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--dir", type=Path, default=None, help="where the corpus and the run go (default: a temporary folder)")
    ap.add_argument("--decisions", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="normalize-review-scale-"))
    inp, out = base / f"in{args.copies}", base / f"review{args.copies}"
    if not inp.is_dir():
        n, size = bench_corpus.write(inp, args.copies)
        print(f"wrote {n:,} files, {size / 1e6:.0f} MB in {inp}", flush=True)
    if not (out / "_normalize" / "summary.json").is_file():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "normalize", "run", str(inp), str(out), "-q", "--jobs", str(args.jobs)],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        print(f"normalize run: {time.perf_counter() - t0:.1f} s", flush=True)
    decisions = out / "_normalize" / "decisions.jsonl"
    if not decisions.is_file():
        print(f"{decide(out, args.decisions)} decisions written", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="proposals-")) / "proposals.yaml"
    whole = child(out, "whole")
    app_parsed, app = child(out, "app-parsed"), child(out, "app")
    applies = {"whole view": child(out, "apply-whole", str(scratch)),
               "scoped, every record parsed": child(out, "apply-parsed", str(scratch)),
               "scoped, through the index": child(out, "apply", str(scratch))}
    results = [{k: v for k, v in r.items() if k not in ("seconds", "peak_mb")} for r in applies.values()]
    same = all(r == results[0] for r in results)
    print(f"\n{whole['docs']:,} documents, {app['in_run']:,} flags")
    print("| what | seconds | peak RSS | holds |")
    print("| --- | ---: | ---: | --- |")
    print(f"| the whole run in one view | {whole['seconds']:.1f} | {whole['peak_mb']:.0f} MB | "
          f"{whole['docs']:,} documents, {whole['flags']:,} flags |")
    for name, r in (("every record parsed", app_parsed), ("through the index", app)):
        print(f"| `normalize review` (first 5,000 flags), {name} | {r['seconds']:.2f} | {r['peak_mb']:.0f} MB | "
              f"{r['docs']:,} documents, {r['flags']:,} flags; page state {r['state_mb']:.1f} MB |")
    for name, r in applies.items():
        print(f"| `normalize apply`, {name} | {r['seconds']:.2f} | {r['peak_mb']:.0f} MB | "
              f"{r['applied']} applied to {r['files']} files |")
    print(f"\nsame apply result: {same}")
    if not same:
        raise SystemExit("apply results differ:\n" + "\n".join(map(str, applies.values())))

if __name__ == "__main__":
    main()
