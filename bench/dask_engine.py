"""The Dask engine against the local engine: the same first run over the same files, through the
real command line, alternating, with the same number of workers (the Dask engine on a
LocalCluster it starts, as `normalize run IN OUT --engine dask` does without --scheduler).

    python bench/dask_engine.py [--copies 1] [--docs N] [--jobs 2] [--reps 2]

Prints each engine's wall time and work phase (summary.json), their ratio, and whether the two
runs' outputs are the same bytes (the part logs and their index, summary.json and .assembled aside).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import write
from targets import cli_run

# what names the part logs or the run (the part logs themselves, their index) may differ by engine
SKIP = ("_normalize/summary.json", "_normalize/.assembled", "_normalize/.by-file.tsv", "_normalize/report.html",
        "_normalize/.parts-index")


def outputs(out: Path) -> dict[str, bytes]:
    return {rel: p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and (rel := p.relative_to(out).as_posix()) not in SKIP
            and not rel.startswith("_normalize/parts/")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--docs", type=int, default=None, help="the corpus's first N documents only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in"
        files, size = write(inp, args.copies, args.docs)
        print(f"{files:,} files, {size / 1e6:.1f} MB; --jobs {args.jobs}; {args.reps} alternating runs each")
        wall: dict[str, list[float]] = {"local": [], "dask": []}
        work: dict[str, list[float]] = {"local": [], "dask": []}
        last: dict[str, dict[str, bytes]] = {}
        for _ in range(args.reps):
            for engine in wall:
                out = Path(tmp) / engine
                shutil.rmtree(out, ignore_errors=True)
                secs, summary, _ = cli_run(inp, out, "--jobs", str(args.jobs), "--engine", engine)
                wall[engine].append(secs)
                work[engine].append(summary["timings"]["work_seconds"])
                last[engine] = outputs(out)
        print("| engine | wall seconds | work phase seconds |")
        print("| --- | ---: | ---: |")
        for engine in wall:
            print(f"| {engine} | {statistics.median(wall[engine]):.1f} ({', '.join(f'{x:.1f}' for x in wall[engine])}) "
                  f"| {statistics.median(work[engine]):.1f} |")
        ratio = statistics.median(wall["dask"]) / statistics.median(wall["local"])
        same = last["dask"] == last["local"]
        print(f"\ndask / local, wall time: {ratio:.2f}x; the same output bytes: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
