"""Deterministic text formatting for the local Listen V1 endpoint: numbers, punctuation, case.

The live service uses a model for these; the local server uses fixed rules so tests can assert
exact output:

* **Number words** (:func:`number_runs`): a run of consecutive words that are English number
  words (``zero`` .. ``ninety``, ``hundred``, ``thousand``, ``million``, ``billion``; hyphenated
  forms like ``twenty-three`` too) or digit strings is one number. The run is read greedily as
  cardinals: ``twenty three`` is 23, ``one hundred five`` is 105, but ``one two three`` is three
  cardinals written together, ``123`` (as Deepgram renders spoken digit strings).
* **Numerals** (:func:`apply_numerals`): each run becomes one word whose text is the digits, whose
  timing spans the run and whose confidence is the lowest in the run.
* **Punctuation** (:func:`punctuate`): the first word of a sentence is capitalised (a sentence
  starts at the beginning of the stream, after a word ending in ``.``, ``!`` or ``?``, and after a
  ``speech_final`` result); the last word of a ``speech_final`` result ends with a period unless it
  already ends a sentence. Tokens keep the case and punctuation the recognizer gave them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import attrs

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS: dict[str, int] = {
    **{word: value for value, word in enumerate(_UNITS)},
    **{word: 20 + 10 * i for i, word in enumerate(_TENS)},
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
}
SENTENCE_END = (".", "!", "?")


@attrs.define(slots=True)
class FormattedWord:
    """One output word: ``word`` (lower case, no punctuation), ``text`` (as spoken), timing, confidence.

    ``raw`` is the spoken form in plain words (several when numerals merged a run); ``speaker`` is
    set by diarization.
    """

    word: str
    text: str
    start: float
    end: float
    confidence: float
    raw: str
    speaker: int | None = None


def plain_word(text: str) -> str:
    """Deepgram's ``word`` form: lower case, without surrounding punctuation."""
    return text.lower().strip(string.punctuation) or text.lower()


def _values(word: str) -> list[int] | None:
    """The number values a plain word stands for (``twenty-three`` -> [20, 3]); None if not a number."""
    if word.isdigit():
        return [-int(word) - 1]  # a digit string: a literal, never combined (encoded as negative)
    parts = word.split("-")
    values = [NUMBER_WORDS.get(part) for part in parts]
    if any(value is None for value in values):
        return None
    return [value for value in values if value is not None]


def _cardinal(values: Sequence[int]) -> int | None:
    """Read ``values`` as one English cardinal (``twenty three`` = 23); None if they are not one."""
    total = group = 0
    previous = ""  # kind of the previous token: unit (0-9), teen (10-19), tens, hundred, scale
    for value in values:
        if value < 0:
            if len(values) != 1:
                return None
            return -value - 1
        if value == 100:
            if previous not in ("unit", "teen", "tens") or group == 0:
                return None
            group, previous = group * 100, "hundred"
        elif value >= 1000:
            if previous in ("", "scale") or group == 0:
                return None
            total, group, previous = total + group * value, 0, "scale"
        elif value >= 20:
            if previous in ("unit", "teen", "tens"):
                return None
            group, previous = group + value, "tens"
        else:
            if previous in ("unit", "teen") or (previous == "tens" and (value >= 10 or value == 0)):
                return None
            if value == 0 and previous != "":
                return None
            group, previous = group + value, "teen" if value >= 10 else "unit"
    return total + group


def _render(values: Sequence[int]) -> str:
    """Digits for a run of values: the longest cardinals first, written one after another."""
    out: list[str] = []
    i = 0
    while i < len(values):
        for j in range(len(values), i, -1):
            number = _cardinal(values[i:j])
            if number is not None:
                out.append(str(number))
                i = j
                break
        else:  # unreachable: a single value is always a cardinal
            out.append(str(values[i]))
            i += 1
    return "".join(out)


@attrs.frozen
class NumberRun:
    """Words ``start_word`` up to (not including) ``end_word`` form one number written ``digits``."""

    start_word: int
    end_word: int
    digits: str


def number_runs(words: Sequence[str]) -> list[NumberRun]:
    """Every maximal run of number words or digit strings in ``words`` (plain forms), in order."""
    runs: list[NumberRun] = []
    current: list[int] = []
    start = 0
    for index, word in enumerate([*words, ""]):
        values = _values(word) if word else None
        if values is not None:
            if not current:
                start = index
            current.extend(values)
            continue
        if current:
            runs.append(NumberRun(start, index, _render(current)))
            current = []
    return runs


def apply_numerals(words: list[FormattedWord], runs: Sequence[NumberRun]) -> list[FormattedWord]:
    """Replace each run of number words by one word written in digits (trailing punctuation kept)."""
    if not runs:
        return words
    out: list[FormattedWord] = []
    cursor = 0
    for run in runs:
        out.extend(words[cursor : run.start_word])
        group = words[run.start_word : run.end_word]
        last = group[-1].text
        trailing = last[len(last.rstrip(string.punctuation)) :]
        out.append(
            FormattedWord(
                word=run.digits,
                text=run.digits + trailing,
                start=group[0].start,
                end=group[-1].end,
                confidence=min(w.confidence for w in group),
                raw=" ".join(w.raw for w in group),
            )
        )
        cursor = run.end_word
    out.extend(words[cursor:])
    return out


def punctuate(texts: Sequence[str], sentence_start: bool, speech_final: bool) -> tuple[list[str], bool]:
    """Punctuated forms of ``texts`` and whether the word after them starts a sentence.

    ``sentence_start`` says whether the first word starts a sentence.
    """
    out: list[str] = []
    for text in texts:
        if sentence_start and text[:1].islower():
            text = text[:1].upper() + text[1:]
        out.append(text)
        sentence_start = text.endswith(SENTENCE_END)
    if speech_final and out:
        if not out[-1].endswith(SENTENCE_END):
            out[-1] = out[-1].rstrip(",;:") + "."
        sentence_start = True
    return out, sentence_start
