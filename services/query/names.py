"""Names as an analyst types them, matched to the places and indicators in the store.

保定 finds 保定市, 海南区 finds 乌海市海南区, 注册志愿者 finds volunteer.registered. Matching goes
from the strictest reading to the loosest and stops at the first that matches anything, so an
exact name is never drowned by the longer names that contain it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Endings of administrative names: 保定 + 市 is the city itself, before 保定市莲池区 which merely starts so.
ADMIN_SUFFIXES = ("市", "区", "县", "省", "自治区", "自治州", "自治县", "地区", "盟", "旗", "特别行政区")


@dataclass(frozen=True)
class Indicator:
    """A catalog entry as the commands show it."""

    code: str
    name_zh: str
    name_en: str
    unit_kind: str


def _first_tier(tiers: Sequence[Callable[[str], bool]], candidates: Sequence[str]) -> list[str]:
    for matches in tiers:
        found = [c for c in candidates if matches(c)]
        if found:
            return found
    return []


def match_places(name: str, places: Sequence[str]) -> list[str]:
    """The places `name` means: that name, else it + an administrative ending, else a prefix, else a part."""
    name = name.strip()
    if not name:
        return []
    tiers: list[Callable[[str], bool]] = [
        lambda place: place == name,
        lambda place: any(place == name + suffix for suffix in ADMIN_SUFFIXES),
        lambda place: place.startswith(name),
        lambda place: name in place,
    ]
    return _first_tier(tiers, places)


def match_indicators(name: str, indicators: Sequence[Indicator]) -> list[Indicator]:
    """The indicators `name` means: a code, a Chinese or English name, a code's group, or a part of a name."""
    wanted = name.strip().lower()
    if not wanted:
        return []
    by_code = {i.code: i for i in indicators}

    def zh(code: str) -> str:
        return by_code[code].name_zh

    def en(code: str) -> str:
        return by_code[code].name_en.lower()

    tiers: list[Callable[[str], bool]] = [
        lambda code: code.lower() == wanted,
        lambda code: zh(code) == name.strip() or en(code) == wanted,
        lambda code: code.lower().startswith(wanted.rstrip(".") + "."),  # a group: volunteer, volunteer.
        lambda code: wanted in zh(code).lower() or wanted in en(code) or wanted in code.lower(),
    ]
    return [by_code[code] for code in _first_tier(tiers, list(by_code))]
