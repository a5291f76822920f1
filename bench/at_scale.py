"""A first run and a re-run over many copies of the corpus, one file per article: wall time,
plan time and the main process's peak memory (it plans and assembles for every worker).

    python bench/at_scale.py [--copies 30] [--dir DIR] [--jobs 2] [--compare CHECKOUT ...]

``--copies 275`` makes 999,900 files (1.0 GB; 4.4 GB on disk, and about 13 GB more for the
outputs and the part logs of each code measured). ``--compare`` also measures another checkout
of normalize (its compiled kernel built in place, or copied there) over the same files: the
first runs one after the other, then the re-runs, so the figures are side by side. The files
are written first and are older than the runs, as an operator's corpus is, so a re-run finds
their identities recorded (see the README's plan step). DIR is kept (the corpus is reused when
it is there); its outputs are removed first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as bench_corpus
from targets import Watch

ROOT = Path(__file__).resolve().parent.parent


def run(code: Path, inp: Path, out: Path, jobs: int) -> dict:
    """One ``normalize run`` of the checkout ``code``: seconds, its summary's timings and units,
    and the main process's peak VmHWM (MB)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "normalize", "run", str(inp), str(out), "-q", "--jobs", str(jobs)],
                            cwd=code, env=env)
    watch = Watch(proc.pid)
    proc.wait()
    secs = time.perf_counter() - t0
    watch.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"normalize run failed ({proc.returncode}) with {code}")
    s = json.loads((out / "_normalize" / "summary.json").read_text())
    return {"seconds": secs, "plan": s["timings"]["plan_seconds"], "units": s["units"], "main_mb": watch.main_hwm}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--dir", type=Path, default=None, help="where the corpus and the outputs go (default: a temporary folder)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--compare", type=Path, action="append", default=[], help="another checkout of normalize")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="normalize-scale-"))
    inp = base / f"in{args.copies}"
    if not inp.is_dir():
        n, size = bench_corpus.write(inp, args.copies)
        print(f"wrote {n:,} files, {size / 1e6:.0f} MB in {inp}", flush=True)
        time.sleep(3.5)  # (older than runner.RACY_NS when the first run reads them)
    codes = [ROOT, *[c.resolve() for c in args.compare]]
    outs = [base / f"out{args.copies}.{i}" for i in range(len(codes))]
    for out in outs:
        shutil.rmtree(out, ignore_errors=True)
    first = [run(code, inp, out, args.jobs) for code, out in zip(codes, outs)]
    again = [run(code, inp, out, args.jobs) for code, out in zip(codes, outs)]
    print(f"\n{first[0]['units']['total']:,} units, --jobs {args.jobs}")
    print("| code | first run | its plan | main peak | re-run | re-run / first | main peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for code, f, a in zip(codes, first, again):
        assert a["units"]["reused"] == a["units"]["total"], a["units"]
        print(f"| {code} | {f['seconds']:.1f} s | {f['plan']:.1f} s | {f['main_mb']:.0f} MB | {a['seconds']:.1f} s "
              f"| {a['seconds'] / f['seconds']:.1%} | {a['main_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
