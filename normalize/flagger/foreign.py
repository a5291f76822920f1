"""Untranslated or foreign-language sentences.

A cheap gate runs on every sentence, in the kernel (:mod:`normalize.kernel`): the share of its
lowercase words the English word list knows, and the share of its letters outside the Latin
script. Only when the gate says "maybe not English" is langdetect asked (seeded, so the answer
is the same on every run); the sentence is foreign when it names another language with
confidence.
"""

from __future__ import annotations

import regex

from .. import kernel
from ..model import Reason

_NON_LATIN = regex.compile(r"[^\p{Latin}\p{Common}\p{Inherited}]")
# letters that English words do not carry (names aside): a hint of untranslated words
_FOREIGN_LETTER = regex.compile(r"[^\x00-\x7f’‘“”–—…\p{Common}]")

#: gate: below this share of known words (or above this share of non-Latin letters) ask langdetect
GATE_KNOWN = 0.6
GATE_NON_LATIN = 0.2
#: langdetect must give another language at least this probability for the reason to fire
MIN_PROB = 0.9
MIN_WORDS = 3
#: langdetect's random trials per text (its default is 7; 3 gives the same verdicts on clear
#: cases at less than half the cost, and only a confident verdict fires the reason)
N_TRIAL = 3

LANGUAGES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan",
    "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek", "es": "Spanish",
    "et": "Estonian", "fa": "Persian", "fi": "Finnish", "fr": "French", "gu": "Gujarati",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "kn": "Kannada", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mr": "Marathi", "ne": "Nepali",
    "nl": "Dutch", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "so": "Somali",
    "sq": "Albanian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh-cn": "Chinese", "zh-tw": "Chinese",
}


class ForeignSignal:
    def __init__(self) -> None:
        self._factory = None
        self._detector: type | None = None
        self._cache: dict[str, tuple[str, float]] = {}

    def _detect(self, text: str) -> tuple[str, float]:
        """(language, probability) of langdetect's best guess; ("", 0) when it cannot tell."""
        got = self._cache.get(text)
        if got is None:
            got = self._langdetect(text)
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[text] = got
        return got

    def preload(self) -> None:
        """Load langdetect's language profiles now rather than on the first gated sentence
        (held sparse, see :mod:`.profiles`)."""
        if self._factory is None:
            from .profiles import SparseDetector, load_factory

            # seeded: the same answer on every run
            self._factory, self._detector = load_factory(seed=0, n_trial=N_TRIAL)
            profiles = self._factory.word_lang_prob_map
            if self._detector is SparseDetector and kernel.compiled is not None:
                profiles.compact()  # held in the compiled n-gram index alone, built now

    def _langdetect(self, text: str) -> tuple[str, float]:
        self.preload()
        from langdetect.lang_detect_exception import LangDetectException

        try:
            det = self._detector(self._factory)
            det.n_trial = N_TRIAL
            det.append(text)
            best = det.get_probabilities()
        except LangDetectException:
            return "", 0.0
        if not best:
            return "", 0.0
        return best[0].lang, float(best[0].prob)

    def verdict(self, text: str) -> str:
        """The language ``text`` reads as when langdetect names one other than English with
        confidence (at least MIN_PROB), else ""."""
        lang, prob = self._detect(text)
        return lang if lang and lang != "en" and prob >= MIN_PROB else ""

    @staticmethod
    def reason(lang: str, known_share: float) -> Reason:
        name = LANGUAGES.get(lang, lang)
        return Reason(
            "foreign",
            f"Looks untranslated: this sentence reads as {name} ({lang}), not English "
            f"(only {round(100 * known_share)}% of its lowercase words are English words).",
        )


def non_latin_count(text: str) -> int:
    """How many characters of ``text`` belong to a script other than Latin (Common and
    Inherited characters, such as digits and marks, count as neither)."""
    return len(_NON_LATIN.findall(text))


def has_foreign_letter(word: str) -> bool:
    """Whether ``word`` has a letter English words do not carry (a hint of untranslated text)."""
    return _FOREIGN_LETTER.search(word) is not None
