"""The plan of a first run over a folder of big dumps: the big files it reads side by side in a
pool (as `normalize run` does), against one after the other in the main process (as it did
before), alternating, each into a fresh OUT. Prints each one's plan time, their ratio, and
whether the two plans gave the same units and the same seek points.

    python bench/plan_reads.py [--gz 4] [--plain 2] [--copies 8] [--jobs 2] [--reps 3] [--chunk-mb 8] [--url]

The folder holds ``--gz`` ``.jsonl.gz`` dumps and ``--plain`` ``.jsonl`` dumps, each ``--copies``
copies of the bench corpus (8 copies: 30 MB of JSONL, 11 MB gzipped); ``--url`` reads it
through a ``file://`` URL (fsspec), as a bucket would be read.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import write_dump

from normalize import runner
from normalize.partlog import PartLogs
from normalize.rules import RuleSet


def plan_once(inp: str | Path, out: Path, jobs: int, chunk_bytes: int, side_by_side: bool) -> tuple[float, str]:
    """(seconds, digest of the units and the seek points) of one first run's plan into ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    parts = out / "_normalize" / "parts"
    parts.mkdir(parents=True)
    runner.PLAN_POOL_AT = 2 if side_by_side else 1 << 30
    options = runner.RunOptions(rules=RuleSet.shell(), jobs=jobs, chunk_bytes=chunk_bytes)
    t0 = time.perf_counter()
    units = list(runner.plan(runner.inputs_of(inp), PartLogs(str(parts)), out, options, "bench"))
    took = time.perf_counter() - t0
    h = hashlib.sha256(repr(units).encode())
    for p in sorted(parts.rglob("*.gzi")):
        h.update(p.name.encode() + p.read_bytes())
    return took, h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gz", type=int, default=4)
    ap.add_argument("--plain", type=int, default=2)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--chunk-mb", type=float, default=8, help="as normalize run's")
    ap.add_argument("--url", action="store_true", help="read the folder through a file:// URL")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="normalize-plan-") as tmp:
        inp = Path(tmp) / "in"
        first = inp / "dump0.jsonl.gz"
        _, size = write_dump(first, args.copies)
        for i in range(1, args.gz):
            shutil.copyfile(first, inp / f"dump{i}.jsonl.gz")
        for i in range(args.plain):
            with gzip.open(first, "rb") as src, open(inp / f"plain{i}.jsonl", "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        # (a file whose status changed within 3 s of its reading gets no identity: let them settle, so
        # that every plan sees the same)
        time.sleep(runner.RACY_NS / 1e9 + 0.5)
        where = inp.resolve().as_uri() if args.url else inp
        print(f"{args.gz} .jsonl.gz of {first.stat().st_size / 1e6:.1f} MB ({size / 1e6:.1f} MB decompressed) "
              f"and {args.plain} .jsonl of {size / 1e6:.1f} MB{' by file:// URL' if args.url else ''}; "
              f"--jobs {args.jobs}, {args.reps} alternating first-run plans each")
        times: dict[str, list[float]] = {"one after another": [], "side by side": []}
        digests: dict[str, set[str]] = {k: set() for k in times}
        for _ in range(args.reps):
            for name in times:
                took, digest = plan_once(where, Path(tmp) / "out", args.jobs, int(args.chunk_mb * 1024 * 1024),
                                         name == "side by side")
                times[name].append(took)
                digests[name].add(digest)
        print("| plan | seconds (each run) | median |")
        print("| --- | --- | ---: |")
        for name, got in times.items():
            print(f"| {name} | {', '.join(f'{t:.2f}' for t in got)} | {statistics.median(got):.2f} |")
        ratio = statistics.median(times["one after another"]) / statistics.median(times["side by side"])
        same = len(digests["one after another"] | digests["side by side"]) == 1
        print(f"\nside by side: {ratio:.2f}x faster; the same units and seek points: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
