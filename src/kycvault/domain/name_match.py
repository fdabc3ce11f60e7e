"""Whether the name in a machine-readable zone is a person's name as a client wrote it.

A zone writes names in the 26 capitals only (ICAO Doc 9303 part 3, section 6): accents are
dropped or transliterated (``Ü`` as ``UE`` or ``U``, ``ß`` as ``SS``, ``Ø`` as ``OE``),
apostrophes are omitted (``O'Brien`` is ``OBRIEN``), hyphens and spaces become fillers, and a
name too long for the field is cut short. A client's ``display_name`` is free text in any
order ("Ada Lovelace", "LOVELACE, Ada"). So both sides are reduced to words of capitals, and
a word of the zone matches a word of the display name when one of the display word's
spellings is it, or begins with it (the zone cut it short), or is one letter away from it
(names have no check digit: one character misread is not another person).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# ICAO 9303 part 3, table of transliterations (the letters whose recommended spelling is
# not the base letter); the base letter alone is accepted as well.
_TRANSLITERATIONS = {
    "Ä": "AE",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Œ": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Å": "AA",
    "Þ": "TH",
    "Ĳ": "IJ",
}
_WORD = re.compile(r"[A-Z]+")
# The apostrophe, the right single quotation mark and the modifier letter apostrophe.
_APOSTROPHES = re.compile("['\u2019`\u02bc]")
# A zone's word this short is not taken as cut short (a cut is at the field's end, and
# "AL" would otherwise match "ALEXANDRA").
_MIN_PREFIX = 4
_MIN_FUZZY = 5


class Verdict(enum.StrEnum):
    SAME = "same"
    DIFFERENT_SURNAME = "different_surname"
    DIFFERENT_GIVEN_NAMES = "different_given_names"


@dataclass(frozen=True, slots=True)
class NameComparison:
    verdict: Verdict
    # The zone's words that no word of the display name matched.
    unmatched: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        return self.verdict is Verdict.SAME


def _spellings(word: str) -> set[str]:
    """A display word's spellings in capitals: ICAO's transliteration and the base letters."""
    upper = word.upper()
    icao = "".join(_TRANSLITERATIONS.get(ch, ch) for ch in upper)
    spellings = set()
    for text in (icao, upper):
        decomposed = unicodedata.normalize("NFKD", text)
        spellings.add("".join(ch for ch in decomposed if "A" <= ch <= "Z"))
    return {s for s in spellings if s}


def display_words(name: str) -> list[set[str]]:
    """The words of a free-text name, each as its set of spellings."""
    text = _APOSTROPHES.sub("", name)
    words = re.split(r"[^\w]+|_", text)
    return [spellings for word in words if word and (spellings := _spellings(word))]


def zone_words(text: str) -> list[str]:
    return _WORD.findall(text.upper())


def _one_apart(a: str, b: str) -> bool:
    """One letter replaced, added or dropped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _matches(zone_word: str, spellings: Iterable[str]) -> bool:
    for spelling in spellings:
        if spelling == zone_word:
            return True
        if len(zone_word) >= _MIN_PREFIX and spelling.startswith(zone_word):
            return True
        if len(zone_word) >= _MIN_FUZZY and _one_apart(zone_word, spelling):
            return True
    return False


def _found(zone_word: str, words: list[set[str]]) -> bool:
    return any(_matches(zone_word, spellings) for spellings in words)


def compare(display_name: str, surname: str, given_names: str) -> NameComparison | None:
    """Whether the zone's surname and given names are the display name's; None when either
    side has no words to compare. The surname must be found whole (every word of it); of the
    given names at least one, when both sides have given names (middle names are often left
    out of a display name, and a first name is often all it has)."""
    words = display_words(display_name)
    surnames, given = zone_words(surname), zone_words(given_names)
    if not words or not surnames:
        return None
    missing = [w for w in surnames if not _found(w, words)]
    if missing:
        return NameComparison(Verdict.DIFFERENT_SURNAME, tuple(missing))
    others = [spellings for spellings in words if not any(_matches(w, spellings) for w in surnames)]
    if given and others and not any(_found(w, others) for w in given):
        return NameComparison(Verdict.DIFFERENT_GIVEN_NAMES, tuple(given))
    return NameComparison(Verdict.SAME)
