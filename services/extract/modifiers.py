"""Modifiers before a counted noun that make a figure count something other than the catalog phrase says:
a subset of the people an indicator counts, or an addition to a total."""

from __future__ import annotations

import re

from .catalog import Indicator
from .figures import Figure

# Words before a counted noun that make it another count. Active or honoured people are a subset of the
# people an indicator counts ('活跃志愿者', '最美志愿者'); newly recruited ones are an addition, not the
# total a stock indicator counts ('新招募志愿者'; an indicator of additions, '新增停车位', is another thing).
SUBSET_MODIFIERS = ("活跃", "经常参加服务的", "最美", "优秀", "先进", "星级", "十佳", "百佳", "金牌", "骨干")
ADDITION_MODIFIERS = ("新招募", "招募", "新增", "新发展", "净增", "新注册", "新增注册", "新招募注册")
_PEOPLE_KINDS = frozenset({"person", "household"})
_LITERAL_SPLIT = re.compile(r"\{N\}|…|X")


def modifier_changes_meaning(
    compact: str, clause: tuple[int, int], figure: Figure, indicator: Indicator, trigger: str
) -> bool:
    """Whether the catalog phrase that named the figure stands, in its clause, after a modifier that makes
    the figure count something else."""
    if figure.unit_kind not in _PEOPLE_KINDS:
        return False
    modifiers = SUBSET_MODIFIERS if indicator.counts_additions else SUBSET_MODIFIERS + ADDITION_MODIFIERS
    literal = max(_LITERAL_SPLIT.split(trigger), key=len).strip("“”")
    if len(literal) < 2 or not modifiers or literal.startswith(modifiers):
        return False
    c_start, c_end = clause
    pos = compact.find(literal, c_start, c_end)
    while pos >= 0:
        before = compact[c_start:pos]
        if before.endswith(modifiers) or _described_after(before, modifiers):
            return True
        pos = compact.find(literal, pos + 1, c_end)
    return False


def _described_after(before: str, modifiers: tuple[str, ...]) -> bool:
    """'新招募的大学生志愿者': the modifier, then '的' and a short description of the same people."""
    head, mark, description = before.rpartition("的")
    return bool(mark) and len(description) <= _DESCRIPTION_MAX and head.endswith(modifiers)


_DESCRIPTION_MAX = 6
