"""normalize against the other cleaning tools of its field, on one core, over the same documents.

    pip install -e '.[compare]'      # bifixer (monofixer), datatrove with spaCy, OpusFilter
    python bench/compare_tools.py [--docs N] [--reps 3]

Every tool runs in this process through its own Python code, as its users run it, over the
benchmark corpus (bench/corpus.py: the seed articles and the MT side of ../shared/data grouped
into articles). A tool that is not installed is skipped. Only cleaning is timed: each tool is
built afresh for every run (so its caches start cold), and building it (rules, models) and
making its input objects (TSV lines, documents, segments) happen before the clock starts. Runs
alternate between the tools; the table gives the median of ``--reps`` runs in MB of UTF-8 input
per second, and each tool's time over normalize's (the whole pipeline: every pass and the
flagger); above 1, normalize is faster.

The tools do different jobs, so the table says what each did; none of the others flags
sentences or rewrites names.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as bench_corpus

#: a tool: (name, what it does, a function that builds it over the documents and returns the
#: timed call, which returns how many documents or lines it kept)
Tool = tuple[str, str, Callable[[list[str]], Callable[[], int]]]


def _normalize(flagger: bool) -> Callable[[list[str]], Callable[[], int]]:
    def build(docs: list[str]) -> Callable[[], int]:
        from normalize import Normalizer

        n = Normalizer(flagger=flagger)
        n.preload()

        def run() -> int:
            for d in docs:
                n.clean(d)
            return len(docs)

        return run

    return build


def _ftfy(docs: list[str]) -> Callable[[], int]:
    import ftfy

    def run() -> int:
        for d in docs:
            ftfy.fix_text(d)
        return len(docs)

    return run


def _monofixer(docs: list[str]) -> Callable[[], int]:
    """bifixer's monofixer with its defaults but for two steps that fail here: the segmentation
    of long sentences (its NLTK model is downloaded at run time) and the hashes for dedup
    (bifixer 0.8.12 hashes a str, which the xxhash pip installs with it, 4.1, refuses).
    A TSV line (document, line) per non-empty line."""
    from bifixer import monofixer

    tsv = "".join(f"{i}\t{line.replace(chr(9), ' ')}\n" for i, d in enumerate(docs)
                  for line in d.split("\n") if line.strip())
    argv, sys.argv = sys.argv, ["monofixer", "-q", "--ignore_segmentation", "--ignore_duplicates",
                                "/dev/null", "/dev/null", "en"]
    try:
        args = monofixer.initialization()
    finally:
        sys.argv = argv
    args.input.close()
    args.output.close()

    def run() -> int:
        args.input, args.output = io.StringIO(tsv), io.StringIO()
        monofixer.fix_sentences(args)
        return args.output.getvalue().count("\n")

    return run


def _datatrove(filters: bool) -> Callable[[list[str]], Callable[[], int]]:
    """datatrove's formatters (ftfy, lines of symbols only), and with ``filters`` its English
    quality filters after them, chained as in its examples (a document a filter drops goes no
    further)."""

    def build(docs: list[str]) -> Callable[[], int]:
        from datatrove.data import Document
        from datatrove.pipeline.formatters import FTFYFormatter, SymbolLinesFormatter

        steps: list[Any] = [FTFYFormatter(), SymbolLinesFormatter()]
        if filters:
            from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

            steps += [C4QualityFilter(filter_no_terminal_punct=False), GopherRepetitionFilter(), GopherQualityFilter()]
            C4QualityFilter().filter(Document(text="A sentence. Another one.", id="warm"))  # loads spaCy

        def run() -> int:
            data = iter([Document(text=d, id=str(i)) for i, d in enumerate(docs)])
            for step in steps:
                data = step.run(data, rank=0, world_size=1)
            return sum(1 for _ in data)

        return run

    return build


def _opusfilter(language: bool) -> Callable[[list[str]], Callable[[], int]]:
    """OpusFilter's whitespace normaliser, then its monolingual filters on every line (length,
    long words, HTML, Latin script, repetition, and with ``language`` the language by Lingua:
    the language filter that works offline here), a line kept when every filter accepts it."""

    def build(docs: list[str]) -> Callable[[], int]:
        import opusfilter.filters as F
        from opusfilter.preprocessors import WhitespaceNormalizer

        segments = [(line,) for d in docs for line in d.split("\n") if line.strip()]
        normalizer = WhitespaceNormalizer()
        filters = [F.LengthFilter(unit="word", min_length=1, max_length=500), F.LongWordFilter(threshold=40),
                   F.HtmlTagFilter(), F.CharacterScoreFilter(scripts=["Latin"]), F.RepetitionFilter()]
        if language:
            filters.append(F.LinguaFilter(languages=["en"]))

        def run() -> int:
            segs = list(normalizer.process(segments))
            keep = [True] * len(segs)
            for f in filters:
                for k, score in enumerate(f.score(segs)):
                    keep[k] = keep[k] and f.accept(score)
            return sum(keep)

        return run

    return build


TOOLS: list[Tool] = [
    ("normalize", "every pass (encoding repair behind ftfy's own checks, debris, punctuation, "
                  "gazetteer) and a confidence for every sentence (trigram models, structure, "
                  "unknown words, language of the sentences that look foreign)", _normalize(True)),
    ("normalize --no-flagger", "every pass, no sentence scoring", _normalize(False)),
    ("ftfy.fix_text", "mojibake, entities, control characters, quotes", _ftfy),
    ("monofixer (bifixer)", "per line: ftfy-based character fixes, HTML tags, punctuation and space "
                            "normalisation, orthography and detokenisation fixes", _monofixer),
    ("datatrove formatters", "ftfy with its encoding steps only (no quote, width, ligature or NFC "
                             "changes), lines of symbols only", _datatrove(False)),
    ("datatrove + quality filters", "the formatters, then the C4, Gopher repetition and Gopher "
                                    "quality filters (words by spaCy)", _datatrove(True)),
    ("OpusFilter", "per line: whitespace normaliser, length, long-word, HTML, script and "
                   "repetition filters", _opusfilter(False)),
    ("OpusFilter + language", "the same and the language filter (Lingua)", _opusfilter(True)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=0, help="the first N documents of the corpus (0: all)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated tool names (default: every one installed)")
    args = ap.parse_args()
    docs = bench_corpus.documents()
    if args.docs:
        docs = docs[: args.docs]
    mb = sum(len(d.encode()) for d in docs) / 1e6
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    tools = [t for t in TOOLS if not only or t[0] in only]
    times: dict[str, list[float]] = {}
    kept: dict[str, int] = {}
    about = {name: does for name, does, _ in tools}
    for _ in range(args.reps):
        for name, _, build in list(tools):
            try:
                run = build(docs)  # afresh for every run, as bench/targets.py does: caches start cold
            except ImportError as e:
                print(f"  {name}: skipped ({e})", flush=True)
                tools = [t for t in tools if t[0] != name]
                continue
            t0 = time.perf_counter()
            kept[name] = run()
            times.setdefault(name, []).append(time.perf_counter() - t0)
    runs = list(times)
    print(f"  {len(docs)} documents, {mb:.2f} MB, one core, median of {args.reps} runs", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ours = med.get("normalize")
    print("\n| tool | what it does | MB/s | its time / normalize's |\n| --- | --- | ---: | ---: |")
    for name in runs:
        ratio = f"{med[name] / ours:.2f}" if ours and name != "normalize" else ""
        print(f"| {name} | {about[name]} | {mb / med[name]:.2f} | {ratio} |")
    print()
    for name in runs:
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in times[name])} s; kept {kept[name]}")


if __name__ == "__main__":
    main()
