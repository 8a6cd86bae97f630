"""The subject of a figure: a short phrase naming what is counted."""

from __future__ import annotations

import re

from .figures import Figure
from .lexicon import Lexicon
from .page import Spotted

_MAX_LEN = 24
# Scope, time and degree words that open a clause but are not what is counted.
_LEAD = re.compile(
    r"^(?:(?:19|20)\d{2}年(?:\d{1,2}月)?|今年以来|今年|去年|近年来|目前|截至目前|此外|同时|其中|"
    r"全市|全区|全县|全省|累计|共|已|先后|还|并)+"
)
_TRAIL = re.compile(
    r"(?:达到|达|为|超过|共计|共|合计|总计|累计|约|近|逾|突破|分别|提升到|提高到|增至|已|的)+$"
)
_NOUN_FLAGS = ("n", "vn", "an", "j", "nz", "l")


def subject_of(
    compact: str,
    figure: Figure,
    clause: tuple[int, int],
    trigger: str | None,
    lexicon: Lexicon,
    *,
    after_previous: int = 0,
) -> str | None:
    """Phrase for what the figure counts: the noun after the measure word, else the words before it."""
    c_start, c_end = clause
    c_start = max(c_start, min(after_previous, figure.start))
    seg_start = compact.rfind("、", c_start, figure.start) + 1 or c_start
    seg_start = max(seg_start, c_start)
    seg_end = compact.find("、", figure.end, c_end)
    seg_end = c_end if seg_end < 0 else seg_end
    after = compact[figure.end : seg_end]
    noun_after = _leading_noun_phrase(after, lexicon)
    if noun_after:
        return noun_after[:_MAX_LEN]
    before = _TRAIL.sub("", _LEAD.sub("", compact[seg_start : figure.start]))
    if trigger and "{N}" not in trigger and trigger in before:
        # Start at the catalog phrase that named the indicator; what precedes it is context.
        return before[before.rindex(trigger) :][:_MAX_LEN]
    if "的" in before[:-2]:
        before = before[before.rindex("的", 0, len(before) - 2) + 1 :]
    if len(before) >= 2:
        return before[-_MAX_LEN:]
    before = _TRAIL.sub("", _LEAD.sub("", compact[c_start : figure.start]))
    if len(before) >= 2:
        return before[-_MAX_LEN:]
    # '12人入选“某某好人榜”': what the counted did names them.
    tail = compact[figure.end : c_end].strip("，,。；;")
    if len(tail) >= 2:
        return tail[:_MAX_LEN]
    return trigger if trigger and "{N}" not in trigger else None


def _leading_noun_phrase(text: str, lexicon: Lexicon) -> str:
    """The run of nominal words opening `text` ('志愿者活跃在…' → '志愿者')."""
    text = re.sub(r"^[“”\"《》]", "", text)
    if not text:
        return ""
    phrase = []
    tokens = lexicon.tagged(text[:20])
    for i, (word, flag) in enumerate(tokens):
        if flag.startswith(_NOUN_FLAGS) or word in "“”《》" or flag in ("a", "b", "f", "s"):
            phrase.append(word)
            continue
        following = tokens[i + 1][1] if i + 1 < len(tokens) else None
        # A verb inside a compound noun ('文明实践点', '受理群众投诉'): keep it when a noun follows.
        if phrase and flag.startswith("v") and following is not None and following.startswith(_NOUN_FLAGS):
            phrase.append(word)
            continue
        break
    result = "".join(phrase).strip("的“”《》")
    return result if len(result) >= 2 else ""


# Compound modifiers a distributive sentence spreads over its values ('城乡低保标准分别提高20元和35元').
_PAIRED_MODIFIERS = {"城乡": ("城市", "农村"), "男女": ("男性", "女性"), "中小学": ("中学", "小学")}
_DISTRIBUTIVE = "分别"


def distribute_subjects(
    compact: str, figures: list[Figure], clause: tuple[int, int], lexicon: Lexicon
) -> list[str] | None:
    """Subjects for values shared out by 分别: 'A、B…分别 x 和 y' gives A… to x and B… to y."""
    c_start, _ = clause
    first = figures[0]
    marker = compact.rfind(_DISTRIBUTIVE, c_start, first.start)
    if marker < 0 or len(figures) < 2:
        return None
    phrase = _LEAD.sub("", compact[c_start:marker])
    phrase = re.sub(r"每[年月日周天]|[0-9]+年", "", phrase)
    if "、" in phrase:
        items = phrase.split("、")
        if len(items) != len(figures):
            return None
        words = lexicon.cut(items[-1])
        head = "".join(words[1:]) if len(words) > 1 else ""
        return [item + head for item in items[:-1]] + [items[-1]]
    for modifier, parts in _PAIRED_MODIFIERS.items():
        if phrase.startswith(modifier) and len(parts) == len(figures):
            return [part + phrase[len(modifier) :] for part in parts]
    return None


def name_subjects(spot: Spotted, triggers: list[str | None], lexicon: Lexicon) -> list[str | None]:
    """What each figure of a sentence counts; `triggers[i]` is the catalog phrase that named figure i."""
    compact = spot.sentence.compact
    shared: dict[int, str] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    for index, clause in enumerate(spot.clauses):
        groups.setdefault(clause, []).append(index)
    for clause, indexes in groups.items():
        spread = distribute_subjects(compact, [spot.figures[i] for i in indexes], clause, lexicon)
        if spread:
            shared.update(zip(indexes, spread, strict=True))
    subjects: list[str | None] = []
    previous_end = 0
    for index, (figure, clause) in enumerate(zip(spot.figures, spot.clauses, strict=True)):
        subjects.append(
            shared.get(index)
            or subject_of(compact, figure, clause, triggers[index], lexicon, after_previous=previous_end)
        )
        previous_end = figure.end
    return subjects
