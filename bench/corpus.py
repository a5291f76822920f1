"""The benchmark corpus: the seed articles plus the MT side of ../shared/data grouped into
articles by doc_id (about 4 MB), optionally copied N times (copies differ by a marker line so
no two documents are identical).

    python bench/corpus.py OUT_DIR [--copies N]      # writes OUT_DIR/NNN/*.txt
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "mlqe-pe"


def documents() -> list[str]:
    """Seeds first, then one article per (language pair, doc_id) of train and dev, in order."""
    docs = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus_in").glob("*.txt"))]
    groups: dict[str, list[str]] = {}
    for path in sorted(DATA.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                groups.setdefault(f"{row['lp']}/{row['split']}/{row['doc_id']}", []).append(row["mt"])
    # a paragraph every four sentences, as in news text
    for _, sents in sorted(groups.items()):
        docs.append("\n".join(" ".join(sents[i : i + 4]) for i in range(0, len(sents), 4)) + "\n")
    return docs


def copies(docs: list[str], n: int) -> Iterator[tuple[str, str]]:
    """(relative path, text) of ``n`` copies of the corpus; copy k > 0 gets a marker line."""
    for k in range(n):
        for i, text in enumerate(docs):
            yield f"{k:03d}/{i:05d}.txt", (text if k == 0 else f"Copy {k}.\n{text}")


def write(out: Path, n: int = 1, docs_wanted: int | None = None) -> tuple[int, int]:
    """Write the corpus (its first ``docs_wanted`` documents, else all) under ``out``; returns
    (documents, bytes)."""
    docs = documents()[:docs_wanted]
    count = size = 0
    for rel, text in copies(docs, n):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        count += 1
        size += len(data)
    return count, size


def write_dump(path: Path, n: int = 1) -> tuple[int, int]:
    """Write ``n`` copies of the corpus as one gzipped JSONL dump at ``path`` (one record a
    document, as news dumps come); returns (documents, uncompressed bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = size = 0
    with gzip.open(path, "wb", compresslevel=6) as fh:
        for rel, text in copies(documents(), n):
            data = (json.dumps({"id": rel, "text": text}, ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(data)
            count += 1
            size += len(data)
    return count, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--copies", type=int, default=1)
    args = ap.parse_args()
    count, size = write(args.out, args.copies)
    print(f"{count} documents, {size / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
