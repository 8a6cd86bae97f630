"""The meaning pass: whether a figure is the size of a change (增加了20元), not a level (增加到500元)."""

from __future__ import annotations

import re

from shared.contracts import Change

from .figures import Figure
from .page import Spotted

_RISE = "净增|增加|增长|提高|提升|上升|上涨|增多|扩大|增|涨|多"
_FALL = "净减|减少|下降|降低|回落|缩减|缩小|压减|减|降|少"
# A change verb right before the figure, with what may stand between: an aspect or manner word and a
# qualifier ('同比下降18%', '增加了20元', '分别提高5%', '净增1200户', '较上年提高2个百分点').
_BETWEEN = r"(?:了|分别|净|约|近|超|逾|达|达到|共|累计|幅度)*"
_VERB_BEFORE = re.compile(rf"(?P<verb>{_RISE}|{_FALL}){_BETWEEN}$")
# A size of change named as a noun ('增幅8%', '降幅为12%', '同比增速达6.5%').
_NOUN_BEFORE = re.compile(r"(?P<noun>增幅|涨幅|增速|增长率|降幅|减幅|下降幅度|降低幅度)(?:为|达|达到|是)?$")
# Words that make the verb part of a noun or a level: '新增停车位' counts new things, '增加到' a level.
_NOT_A_CHANGE_BEFORE = ("新增", "新减", "年增", "递增")
_FALL_WORDS = frozenset(_FALL.split("|")) | {"降幅", "减幅", "下降幅度", "降低幅度"}
# '提升/提高' before a count of things names what was upgraded; before a rate or an amount, a rise.
_UPGRADE_VERBS = frozenset({"提升", "提高", "扩大"})
_COUNTED_THINGS = frozenset({"count", "times", "household"})
_JOINERS = ("和", "与", "及", "、", "或", "以及")


def figure_changes(spotted: list[Spotted]) -> list[list[Change | None]]:
    """For each spotted sentence, the change each of its figures measures, if any."""
    changes = []
    for spot in spotted:
        row = sentence_changes(spot.sentence.compact, spot.figures)
        for index, sign in spot.signs.items():
            row[index] = "increase" if sign == "+" else "decrease"  # '+7.8%' in a column of changes
        changes.append(row)
    return changes


def sentence_changes(compact: str, figures: list[Figure]) -> list[Change | None]:
    """Changes of a sentence's figures; a run of coordinated values shares the verb before the first."""
    changes: list[Change | None] = []
    for index, figure in enumerate(figures):
        change = _change_before(compact, figure)
        if change is None and index > 0 and changes[index - 1] is not None:
            joint = compact[figures[index - 1].end : figure.start]
            if joint in _JOINERS:
                change = changes[index - 1]  # '分别提高5%和7%'
        changes.append(change)
    return changes


def _change_before(compact: str, figure: Figure) -> Change | None:
    lead = compact[max(0, figure.start - 12) : figure.start]
    noun = _NOUN_BEFORE.search(lead)
    if noun:
        return "decrease" if noun.group("noun") in _FALL_WORDS else "increase"
    verb = _VERB_BEFORE.search(lead)
    if verb is None:
        return None
    word = verb.group("verb")
    before_verb = lead[: verb.start("verb")]
    compared = bool(_COMPARISON.search(before_verb))
    if not compared and any((before_verb + word).endswith(stem) for stem in _NOT_A_CHANGE_BEFORE):
        return None
    if len(word) == 1 and not _single_character_verb(before_verb, word):
        return None
    if word in _UPGRADE_VERBS and figure.unit_kind in _COUNTED_THINGS:
        return None  # '整治提升50个': fifty places upgraded, not a rise of fifty
    return "decrease" if word in _FALL_WORDS else "increase"


# One-character verbs count only in comparisons ('比上年增5%', '同比减3起', '多15人'): alone they are
# too often the tail of another word (倍增, 递减).
_COMPARISON = re.compile(r"(?:同比|环比|比|较)[^，,。；;]{0,8}$")


def _single_character_verb(before: str, word: str) -> bool:
    return bool(_COMPARISON.search(before)) or (
        word in "多少" and before.endswith(("了", "比上年", "比去年"))
    )
