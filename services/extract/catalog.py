"""The indicator catalog: its entries, their triggers compiled for matching, loaded once per process."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import opencc
import yaml

from shared.contracts import UnitKind
from shared.text import CHINESE_NUMERAL_CHARS

from .units import UNIT_BY_WORD

# Shared: extract matches its triggers, store publishes its names.
DEFAULT_CATALOG = Path(str(resources.files("shared") / "indicators.yaml"))

_NUMERAL_SLOT = rf"[\d.,０-９{CHINESE_NUMERAL_CHARS}]+"
_SLOT_LEAD = r"(?:不少于|不低于|超过|超|逾|突破|约为|约|将近|接近|近|达到|达|不到|不足|共计|共)?"
_SLOT_TAIL = r"[余多]?[十百千万亿]*[余多]?"
_GAP = r"[^。；;]{0,30}?"
_WILDCARD = r"[^“”。，,]{1,8}?"
# Corner brackets and straight quotes read as the curly quotes the catalog is written with.
QUOTE_FOLD = str.maketrans("「」『』", "“”“”")
QUOTE_MARKS = '“”‘’《》"'
DROP_QUOTES = str.maketrans("", "", QUOTE_MARKS)
CLOSING_QUOTES = '”’》"'
# A trigger's literal tail after '{N}' begins with a multiplier or qualifier the slot already allows.
_TAIL_NOISE = "余多十百千万亿"


@dataclass(frozen=True)
class Indicator:
    """One catalog entry, with what it may measure."""

    code: str
    name_zh: str
    unit_kinds: frozenset[str]
    measure_words: frozenset[str]
    keywords: tuple[str, ...]
    patterns: tuple[tuple[str, TriggerPattern], ...]  # (trigger as written, its pattern)

    @property
    def counts_additions(self) -> bool:
        """Whether the indicator counts what was added ('新增停车位', '新建城市书房'), not a total."""
        return any(word in self.name_zh for word in ("新增", "新建")) or self.code.endswith(
            ("_added", ".new")
        )

    @property
    def measures_change(self) -> bool:
        """Whether the indicator is itself a change ('livelihood.assistance_standard_increase')."""
        return "increase" in self.code

    def accepts(self, unit_kind: UnitKind, measure_word: str) -> bool:
        """Whether a figure of this kind and measure word can be this indicator."""
        if unit_kind not in self.unit_kinds:
            return False
        return not measure_word or not self.measure_words or measure_word in self.measure_words


@dataclass(frozen=True, slots=True)
class Match:
    """A figure's indicator with the evidence that chose it."""

    code: str
    trigger: str
    score: float


def _base_measure_word(word: str) -> str:
    word = word.split("/", 1)[0]
    if word == "百分之":
        return "%"
    return word.lstrip("万亿") or word


def anchor_of(trigger: str) -> str:
    """The longest piece of a trigger that its pattern matches literally."""
    pieces = []
    for i, part in enumerate(trigger.split("{N}")):
        part = part.lstrip(_TAIL_NOISE) if i > 0 else part
        pieces.extend(re.split(r"…|X", part))
    return max(pieces, key=len)


class TriggerPattern:
    """A trigger's regular expression, compiled when first used: most of the catalog's hundreds are
    never needed by a given document (their literal anchor is absent), and compiling all costs a start
    a third of a second."""

    __slots__ = ("_compiled", "trigger")

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = _compile_pattern(self.trigger)
        return self._compiled

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text)


def _compile_pattern(trigger: str) -> re.Pattern[str]:
    parts = trigger.split("{N}")
    regex = []
    for i, part in enumerate(parts):
        if i > 0:
            part = part.lstrip(_TAIL_NOISE)
            regex.append(f"{_SLOT_LEAD}(?P<n{i}>{_NUMERAL_SLOT}){_SLOT_TAIL}")
        pieces = []
        for chunk in re.split(r"(…|X)", part):
            if chunk == "…":
                pieces.append(_GAP)
            elif chunk == "X":
                pieces.append(_WILDCARD)
            else:
                pieces.append(re.escape(chunk))
        regex.append("".join(pieces))
    return re.compile("".join(regex))


def _keywords_of(trigger: str, measure_words: Iterable[str]) -> list[str]:
    """Bare keywords a trigger gives: its literal fragments without measure words."""
    words = sorted({_base_measure_word(w) for w in measure_words} | {"个", "名", "人"}, key=len, reverse=True)
    keywords = []
    for index, fragment in enumerate(re.split(r"\{N\}|…", trigger)):
        fragment = fragment.strip()
        if "{N}" in trigger and index > 0:
            fragment = fragment.lstrip(_TAIL_NOISE)
            for word in words:
                if fragment.startswith(word):
                    fragment = fragment[len(word) :]
                    break
        fragment = fragment.rstrip("共达到为")
        # A short verb cut out of a pattern ('开展…', '提供…') names nothing by itself.
        shortest = 3 if "{N}" in trigger or "…" in trigger else 2
        if len(fragment) >= shortest and "X" not in fragment:
            keywords.append(fragment)
    return keywords


def _opencc_simplifier() -> Callable[[str], str]:
    converter = opencc.OpenCC("t2s")

    def to_simplified(text: str) -> str:
        """Traditional→Simplified, phrase by phrase."""
        return str(converter.convert(text))

    return to_simplified


def load_catalog(
    path: Path = DEFAULT_CATALOG, *, to_simplified: Callable[[str], str] | None = None
) -> list[Indicator]:
    """Load the indicator catalog YAML into matchers; Traditional triggers are matched in Simplified."""
    simplify = to_simplified or _opencc_simplifier()
    # libyaml's loader when the wheel has it: the catalog is read at every start.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    indicators = []
    for entry in entries:
        measure_words = [str(w) for w in entry.get("measure_words") or []]
        kinds = {entry["unit_kind"]}
        for word in measure_words:
            unit = UNIT_BY_WORD.get(_base_measure_word(word))
            if unit is not None:
                kinds.add(unit.kind)
        raw_triggers = [str(t) for t in entry.get("triggers") or []]
        # Keep the trigger as written too: character-level conversion is lossy (覆盖 → 复盖).
        triggers = list(dict.fromkeys(t for raw in raw_triggers for t in (raw, simplify(raw))))
        keywords: list[str] = []
        patterns = []
        for trigger in triggers:
            if "{N}" in trigger:
                patterns.append((trigger, TriggerPattern(trigger)))
            keywords.extend(_keywords_of(trigger, measure_words))
        indicators.append(
            Indicator(
                code=entry["code"],
                name_zh=entry.get("name_zh", ""),
                unit_kinds=frozenset(kinds),
                measure_words=frozenset(_base_measure_word(w) for w in measure_words),
                keywords=tuple(dict.fromkeys(keywords)),
                patterns=tuple(patterns),
            )
        )
    return indicators
