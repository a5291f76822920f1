"""The flagger: every signal on every sentence, combined into one confidence.

The kernel (:mod:`normalize.kernel`) measures every sentence of a document in one pass: it cuts
the text into sentences and tokens, looks each token up once (in a lexicon of what each token
is: its code for the fluency models, whether the English word list knows it, its word class
for the structure checks; see :meth:`Signals.describe`), scores the tokens under both fluency
models, counts, and combines the features into a confidence. Only the foreign check is left to
Python: langdetect runs on the sentences the kernel's cheap gate picks (few), and sets their
``foreign`` feature. Then the signal modules (:mod:`.foreign`, :mod:`.oov`, :mod:`.structure`,
:mod:`.fluency`) put into words what the kernel found, for the sentences a reviewer will see.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .. import kernel
from ..model import Reason
from ..rules import most_frequent
from . import structure
from .combiner import Combiner
from .files import WEIGHTS_FILE, fluency_file, model_dir
from .fluency import _FLUENCY, _PUNCT, _SUFFIX_CLASS, FluencyModel, _raw_pieces
from .fluency import _MT_STYLE as _MT_STYLE_WORDING
from .foreign import GATE_KNOWN, GATE_NON_LATIN, MIN_WORDS, ForeignSignal, non_latin_count
from .foreign import has_foreign_letter as _has_foreign_letter
from .oov import BRITISH, MAX_REASONS, NAME_PARTICLES, OOV_PLAIN, OOV_SUGGESTED, PREFIXES, RARE_FREQ, OovSignal
from .text import OPENERS, Sentence, words_of

if TYPE_CHECKING:
    from ..rules import RuleSet

K: Any = kernel.compiled or kernel  # the kernel that runs (normalize.kernel.name())
_IMPLIED_BY_FOREIGN = frozenset({"oov", "fluency", "mt-style"})
#: how many of the most frequent English words (each lowercase and capitalised) the lexicon
#: describes at preload, before the first document (see Lexicon.seed)
COMMON_WORDS = 20_000
#: the combiner's contributions to a sentence's logit, most negative first (Combiner.contributions)
Blame = list[tuple[float, str]]
# which words explain a feature that pulled a sentence's confidence down (Signals.explain)
_FAMILY = {"lm_logprob": "fluency", "lm_gain": "fluency", "lm_low_share": "fluency",
           "mt_logprob": "mt-style", "mt_gain": "mt-style", "oov_share": "rare-words",
           "oov_any": "rare-words", "rare_share": "rare-words", "cap_unknown_share": "rare-words",
           "known_share": "rare-words", "log_words": "length"}
#: the wording of the reasons :meth:`Signals.explain` gives (the compiled kernel words them from these too)
RARE_WORDS = "Rare or unknown words for English news: {}; a garbled name or a mistranslated term?"
LENGTH = "A long sentence ({} words): machine translation goes wrong more often in long sentences."
LOW_CONFIDENCE = ("Several weak signals together (word choice, phrasing, length) make this sentence look like a "
                  "poor translation; none is decisive.")
#: a feature below this many (log1p) words does not make "length" the reason (a sentence of 30 words or fewer)
LONG_LOG_WORDS = math.log1p(30)
#: a contribution to the logit above this does not blame its feature (Signals.explain)
BLAME_AT = -0.15
_F = {name: i for i, name in enumerate(kernel.FEATURES)}
_FOREIGN, _KNOWN_SHARE, _LOG_WORDS = _F["foreign"], _F["known_share"], _F["log_words"]
_LM_GAIN, _MT_STYLE, _OOV_ANY = _F["lm_gain"], _F["mt_style"], _F["oov_any"]
# a lowercase word of two letters or more, not of a known name, that the word list does not know
_OOV_MASK = kernel.WORD | kernel.KEPT | kernel.LONG | kernel.UNKNOWN | kernel.UPPER
_OOV_WANT = kernel.WORD | kernel.KEPT | kernel.LONG | kernel.UNKNOWN
_CLAUSE = structure.CLAUSE_MARKS


@dataclass(slots=True)
class SentenceScore:
    """The flagger's verdict on one span: ``confidence`` is P(the sentence is fine), in [0, 1]."""

    start: int
    end: int
    confidence: float
    reasons: list[Reason] = field(default_factory=list)


@lru_cache(maxsize=1 << 16)
def _pieces(tok: str) -> tuple[str, ...]:
    return _raw_pieces(tok)


def _window(text: str, doc: Any, info: tuple[int, ...], at: int) -> list[str]:
    """The raw tokens of the window info[at:at + 2] (positions in the sentence's raw tokens)."""
    a, b, lo = info[at], info[at + 1], info[0]
    if not info[14]:  # no possessive: position p is token lo + p
        return [_pieces(t)[0] for t in doc.texts(text, lo + a, lo + b)]
    out: list[str] = []
    for t in doc.texts(text, lo, info[1]):
        out += _pieces(t)
        if len(out) >= b:
            break
    return out[a:b]


class Measured:
    """A document as the flagger measured it: the kernel's :class:`~normalize.kernel.Doc`, with
    the foreign verdicts of the gated sentences applied to their confidence."""

    __slots__ = ("confidence", "doc", "foreign", "text")

    def __init__(self, text: str, doc: Any, confidence: list[float], foreign: dict[int, tuple[str, float]]) -> None:
        self.text = text
        self.doc = doc
        self.confidence = confidence
        #: sentence -> (language, known share) of the sentences that read as untranslated
        self.foreign = foreign

    @property
    def spans(self) -> list[tuple[int, int]]:
        return self.doc.spans

    def __len__(self) -> int:
        return len(self.doc)

    def features(self, i: int) -> list[float]:
        """Sentence ``i``'s features, in the order of :data:`normalize.kernel.FEATURES`."""
        f = self.doc.features(i)
        if i in self.foreign:
            f[_FOREIGN] = 1.0
        return f

    def feature_dict(self, i: int) -> dict[str, float]:
        return dict(zip(kernel.FEATURES, self.features(i)))

    def at_most(self, threshold: float) -> list[int]:
        """The sentences whose confidence is at most ``threshold``, in order."""
        got = self.doc.at_most(threshold)
        if self.foreign:  # a foreign verdict moved these
            conf = self.confidence
            got = sorted({*got, *self.foreign} - {i for i in self.foreign if conf[i] > threshold})
        return got

    def quoted(self, i: int, code: str, info: tuple[int, ...] | None = None) -> list[str]:
        """The raw tokens (:func:`.fluency.raw_tokens`) the "fluency" or "mt-style" reason of
        sentence ``i`` quotes: the window the kernel picked."""
        info = info or self.doc.info(i)
        return _window(self.text, self.doc, info, 15 if code == "fluency" else 17)

    def words(self, i: int) -> list[tuple[str, int]]:
        """(word, kernel bits) of each word of sentence ``i``."""
        text, token = self.text, self.doc.token
        lo, hi = self.doc.info(i)[:2]
        return [(text[s:e], b) for s, e, b, _ in map(token, range(lo, hi)) if b & kernel.WORD]


class Signals:
    """Features and reasons of sentences, before combining (the scripts fit on these).

    ``combiner``: the weights the kernel combines the features with (without one, every
    confidence is 0.5: the features are what is asked for)."""

    def __init__(self, rules: RuleSet, fluency: FluencyModel | None = None, combiner: Combiner | None = None) -> None:
        english = rules.english
        self.abbreviations: list[str] = list(rules.words.get("abbreviations", []))
        self.fluency = fluency or FluencyModel.load(fluency_file(model_dir(rules)))
        self.oov = OovSignal(english.frequency, getattr(english, "dictionary", None))
        self.foreign = ForeignSignal()
        fl = self.fluency
        terms = combiner.terms(kernel.FEATURES) if combiner is not None else []
        offset = combiner.offset if combiner is not None else 0.0
        self.scorer = K.Scorer(fl.tables(), fl.scale, fl.bos, fl.eos, fl.poss, terms, offset,
                               GATE_KNOWN, GATE_NON_LATIN, MIN_WORDS, (fl.fire_gain, fl.fire_mt_style, fl.fire_min_tokens))
        self.abbrev = K.Abbreviations(self.abbreviations)
        self._skip_cache: dict[frozenset[str], frozenset[str]] = {}
        self._lexicons: dict[frozenset[str], Any] = {}
        self._vocabulary: Any = None
        self._wording: Any = None if K is kernel else K.Wording(
            Reason, _pieces, structure.TEMPLATES, _FLUENCY, _MT_STYLE_WORDING, structure.QUOTES, _PUNCT)

    def skip_words(self, names: frozenset[str]) -> frozenset[str]:
        """Lowercase words of gazetteer names: never out of vocabulary, never foreign."""
        got = self._skip_cache.get(names)
        if got is None:
            got = frozenset(w.lower().replace("’", "'") for n in names for w in words_of(n))
            if len(self._skip_cache) > 8:
                self._skip_cache.clear()
            self._skip_cache[names] = got
        return got

    def describe(self, tok: str, skip: frozenset[str] = frozenset()) -> kernel.Description:
        """What the kernel needs to know of a token (see :class:`normalize.kernel.Lexicon`)."""
        c = tok[0]
        code = self.fluency.code(tok, "n" if c.isdecimal() else "w" if c.isalnum() else "p")
        nl = 0 if tok.isascii() else non_latin_count(tok)
        if c.isdecimal():
            return kernel.NUMBER, code, None, nl
        if not c.isalnum():
            return (kernel.OPENER if tok in OPENERS else 0) | (kernel.CLAUSE if tok in _CLAUSE else 0), code, None, nl
        low = tok.lower().replace("’", "'")
        f = self.oov.freq(low)
        bits = kernel.WORD | structure.word_bits(tok, low)
        if c.isupper():
            bits |= kernel.UPPER
        if c.islower():
            bits |= kernel.LOWER0
        if len(tok) >= 2:
            bits |= kernel.LONG
        if low not in skip:
            bits |= kernel.KEPT
        if not f:
            bits |= kernel.UNKNOWN
        elif f < RARE_FREQ:
            bits |= kernel.RARE
        if any(ch.isupper() for ch in tok[1:]):
            bits |= kernel.UPPER_REST
        if not any(ch in "'’-" for ch in tok):
            bits |= kernel.PLAIN
        if not tok.isascii() and _has_foreign_letter(tok):
            bits |= kernel.FOREIGN
        if "a" <= c <= "z":
            bits |= kernel.AZ_FIRST
        if "a" <= tok[-1] <= "z":
            bits |= kernel.AZ_LAST
        return bits, code, low, nl

    def common_tokens(self, n: int = COMMON_WORDS) -> list[str]:
        """The ``n`` most frequent words of the English word list, lowercase and capitalised:
        what :meth:`Flagger.preload` describes into the lexicon before the first document."""
        words = self.oov.words
        if not words:
            return []
        return [t for w, _ in most_frequent(words, n) for t in (w, w[:1].upper() + w[1:])]

    def vocabulary(self) -> Any:
        """The tables the compiled lexicon describes ASCII tokens with: the data :meth:`describe`
        reads (None for the pure-Python kernel, or a word list without frequencies)."""
        if self._vocabulary is None and K is not kernel and self.oov.words is not None:
            fl = self.fluency
            ids, unknown = fl.ids, fl.ids["<w>"]
            classes = [ids.get(c, unknown) for c in ("<Cap>", "<ACR>", "<hyph>", "<w>", "<num>", "<year>", "<p>")]
            suffixes = [(sfx, ids.get(cls, unknown)) for _, group in _SUFFIX_CLASS for sfx, cls in group.items()]
            low_bits = {w: structure.word_bits("", w) for w in structure.LOW_WORDS}
            self._vocabulary = K.Vocabulary(
                ids, [*classes, fl.poss], suffixes, fl.punct, self.oov.words, RARE_FREQ, NAME_PARTICLES, PREFIXES,
                BRITISH, low_bits, structure.MIDCAP_WORDS, OPENERS, _CLAUSE)
        return self._vocabulary

    def lexicon(self, skip: frozenset[str]) -> Any:
        got = self._lexicons.get(skip)
        if got is None:
            if len(self._lexicons) >= 4:
                self._lexicons.clear()
            got = self._lexicons[skip] = K.Lexicon(lambda tok: self.describe(tok, skip), 100_000,
                                                   self.vocabulary(), skip)
        return got

    def measure(self, text: str, spans: list[tuple[int, int]] | None = None,
                names: frozenset[str] = frozenset(), skip: frozenset[str] | None = None) -> Measured:
        """Every sentence of ``text`` measured (``spans``, or the kernel's sentences); the words
        of ``names`` (or the lowercase words ``skip``) are never unknown, never foreign."""
        if skip is None:
            skip = self.skip_words(names) if names else frozenset()
        doc = K.analyze(text, spans, self.lexicon(skip), self.scorer, self.abbrev)
        conf = doc.confidence
        foreign: dict[int, tuple[str, float]] = {}
        gated = doc.gated
        if gated:
            conf = list(conf)
            spans_ = doc.spans
            for i in gated:
                s, e = spans_[i]
                lang = self.foreign.verdict(text[s:e])
                if lang:
                    f = doc.features(i)
                    f[_FOREIGN] = 1.0
                    conf[i] = K.sigmoid(self.scorer.logit(f))
                    foreign[i] = (lang, f[_KNOWN_SHARE])
        return Measured(text, doc, conf, foreign)

    def reasons(self, m: Measured, i: int, detail: bool = True, blame: Callable[[dict[str, float]], Blame | None] | None = None,
                skip: frozenset[str] = frozenset()) -> list[Reason]:
        """The reasons of sentence ``i``. Without ``detail``, the cheap ones only (foreign,
        structure); with it, also the unknown words (with spelling suggestions) and the fluency
        quotes, and, for a sentence left without a reason, one from :meth:`explain` when
        ``blame`` gives the features' contributions (the flagger does so for sentences it flags)."""
        text, doc = m.text, m.doc
        info = doc.info(i)
        fr = m.foreign.get(i) if m.foreign else None
        if self._wording is not None:  # the kernel words the structure and fluency reasons
            worded = doc.wordings(i, text, self._wording, detail)
            if fr is None and not (detail and info[20]):
                return worded if worded or not detail or blame is None else self._explained(m, i, blame, skip)
            n_struct = len(worded) - (detail and bool(info[19] & 1)) - (detail and bool(info[19] & 2))
            r_struct, quoted = worded[:n_struct], worded[n_struct:]
        else:
            # fragment, mark, doubled word, phrase, lowercase start, capital: any structure reason?
            r_struct = structure.reasons(text, doc.token, info) if info[3] or info[7] or max(
                info[4], info[5], info[8], info[9]) >= 0 else []
            quoted = []
            if detail and info[19]:
                reason = self.fluency.reason
                if info[19] & kernel.FIRES_FLUENCY:
                    quoted.append(reason("fluency", _window(text, doc, info, 15)))
                if info[19] & kernel.FIRES_MT_STYLE:
                    quoted.append(reason("mt-style", _window(text, doc, info, 17)))
        reasons = [self.foreign.reason(*fr)] if fr is not None else []
        if not detail:
            return [*reasons, *r_struct]
        if info[20]:  # unknown words
            got = doc.oov(i)
            reasons += self.oov.reasons([text[got[k] : got[k + 1]] for k in range(0, len(got), 2)])
        reasons += r_struct
        reasons += quoted
        if fr is not None:  # unknown words and odd phrasing are what "untranslated" means
            reasons = [r for r in reasons if r.code not in _IMPLIED_BY_FOREIGN]
        if not reasons and blame is not None:
            return self._explained(m, i, blame, skip)
        return reasons

    def _explained(self, m: Measured, i: int, blame: Callable[[dict[str, float]], Blame | None],
                   skip: frozenset[str]) -> list[Reason]:
        """[the reason :meth:`explain` finds] when ``blame`` gives contributions, else []."""
        fd = m.feature_dict(i)
        contributions = blame(fd)
        return [self.explain(m, i, fd, contributions, skip)] if contributions is not None else []

    def explain(self, m: Measured, i: int, feats: dict[str, float], blame: Blame,
                skip: frozenset[str] = frozenset()) -> Reason:
        """Why a sentence with no reason of its own scored low: words for its worst features.

        ``blame`` is the combiner's contributions, most negative first. The first feature that
        pulled the confidence down and has words for it gives the reason; several weak ones
        together give "low-confidence"."""
        info = m.doc.info(i)
        for contribution, name in blame:
            if contribution > BLAME_AT:
                break
            family = _FAMILY.get(name)
            if family in ("fluency", "mt-style"):
                return self.fluency.reason(family, m.quoted(i, family))
            if family == "rare-words":
                words = [w for j, (w, b) in enumerate(m.words(i))
                         if b & kernel.LONG and b & kernel.KEPT and b & (kernel.UNKNOWN | kernel.RARE)
                         and (j > 0 or b & kernel.UNKNOWN)]
                if words:
                    shown = ", ".join(f"\u201c{w}\u201d" for w in dict.fromkeys(words[:4]))
                    return Reason("rare-words", RARE_WORDS.format(shown))
            if family == "length" and feats.get("log_words", 0.0) > LONG_LOG_WORDS:
                return Reason("length", LENGTH.format(info[2]))
        return Reason("low-confidence", LOW_CONFIDENCE)

    # -- the API the scripts and tests use ----------------------------------------------------
    def spans(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset(),
              detail: Callable[[int, dict[str, float]], bool] | bool = True,
              blame: Callable[[dict[str, float]], Blame | None] | None = None,
              ) -> list[tuple[dict[str, float], list[Reason]]]:
        """Features and reasons of each span of ``text``. ``detail``: whether span ``i`` with
        these features gets its costly reasons too; ``blame``: see :meth:`reasons`."""
        m = self.measure(text, spans, names)
        skip = self.skip_words(names) if names else frozenset()
        out = []
        for i in range(len(m)):
            fd = m.feature_dict(i)
            want = detail if isinstance(detail, bool) else detail(i, fd)
            out.append((fd, self.reasons(m, i, want, blame, skip)))
        return out

    def sentence(self, sent: Sentence | str, skip: frozenset[str] = frozenset(), detail: bool = True,
                 ) -> tuple[dict[str, float], list[Reason]]:
        """Features and reasons of one sentence (``skip``: lowercase words of known names)."""
        text = sent if isinstance(sent, str) else sent.text
        m = self.measure(text, [(0, len(text))], skip=skip)
        return m.feature_dict(0), self.reasons(m, 0, detail, None, skip)

    def sentence_text(self, text: str, names: frozenset[str] = frozenset()
                      ) -> tuple[dict[str, float], list[Reason]]:
        """Features and reasons of ``text`` taken as one sentence."""
        return self.spans(text, [(0, len(text))], names)[0]


class Flagger:
    """Scores sentences: lower confidence = more likely a bad translation.

    >>> from normalize.rules import RuleSet
    >>> f = Flagger(RuleSet.load())
    >>> [r.code for r in f.score("To study.", [(0, 9)])[0].reasons]
    ['fragment']
    """

    def __init__(self, rules: RuleSet) -> None:
        self.combiner = Combiner.load(model_dir(rules) / WEIGHTS_FILE)
        self.signals = Signals(rules, combiner=self.combiner)
        sig = self.signals
        # the compiled kernel words the reasons of many sentences at once (reasons_of)
        self._reasoner: Any = None if sig._wording is None else K.Reasoner(
            sig._wording, Reason, sig.oov._suggestions, sig.oov.suggestion, MAX_REASONS, OOV_SUGGESTED, OOV_PLAIN,
            self.combiner.terms_table(), _FAMILY, BLAME_AT, LONG_LOG_WORDS, RARE_WORDS, LENGTH, LOW_CONFIDENCE)

    def preload(self, names: frozenset[str] = frozenset()) -> None:
        """Load what is otherwise loaded on first use (langdetect's profiles, the spelling
        correction index, the lexicon's tables, the lexicon for ``names``), so that forked
        workers share it and no document pays for it."""
        self.signals.foreign.preload()
        self.signals.oov.corrections()
        lexicon = self.signals.lexicon(self.signals.skip_words(names) if names else frozenset())
        lexicon.seed(self.signals.common_tokens())

    @property
    def threshold(self) -> float:
        """The default threshold: a sentence with confidence below it is flagged."""
        return self.combiner.threshold

    def measure(self, text: str, names: frozenset[str] = frozenset(),
                spans: list[tuple[int, int]] | None = None) -> Measured:
        """Every sentence of ``text`` (the kernel's, or ``spans``) measured and combined."""
        return self.signals.measure(text, spans, names)

    def reasons(self, m: Measured, i: int, explain_at: float | None = None, report: bool = False,
                names: frozenset[str] = frozenset()) -> list[Reason]:
        """The reasons of sentence ``i``: all of them when its confidence is at most
        ``explain_at`` (default: :attr:`threshold`) or ``report`` is set, else the cheap ones
        (foreign, structure). A sentence at most ``explain_at`` always has a reason: if no signal
        fired on its own, the features that pulled its confidence down are put into words."""
        at = self.threshold if explain_at is None else explain_at
        conf = m.confidence[i]
        low = conf <= at
        blame = self.combiner.contributions if low and conf < 1.0 else None
        skip = self.signals.skip_words(names) if names else frozenset()
        return self.signals.reasons(m, i, low or report, blame, skip)

    def reasons_of(self, m: Measured, sentences: list[int], explain_at: float | None = None,
                   names: frozenset[str] = frozenset()) -> list[list[Reason]]:
        """:meth:`reasons` of each of ``sentences`` (``report`` False), at once: the compiled
        kernel words those without a foreign verdict in one call (``Doc.reasons_of``)."""
        at = self.threshold if explain_at is None else explain_at
        r = self._reasoner
        if r is None:
            return [self.reasons(m, i, at, False, names) for i in sentences]
        foreign = m.foreign
        if not foreign:
            return m.doc.reasons_of(sentences, m.confidence, at, m.text, r)
        worded = iter(m.doc.reasons_of([i for i in sentences if i not in foreign], m.confidence, at, m.text, r))
        return [self.reasons(m, i, at, False, names) if i in foreign else next(worded) for i in sentences]

    def score(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset(),
              explain_at: float | None = None, report: Collection[int] = ()) -> list[SentenceScore]:
        """One score per span, with its reasons: all of them for the sentences a reviewer will
        see (confidence at most ``explain_at``, default :attr:`threshold`, and the spans listed
        in ``report``), the cheap ones for the others (see :meth:`reasons`)."""
        m = self.measure(text, names, spans)
        report = set(report)
        return [SentenceScore(s, e, m.confidence[i], self.reasons(m, i, explain_at, i in report, names))
                for i, (s, e) in enumerate(m.spans)]
