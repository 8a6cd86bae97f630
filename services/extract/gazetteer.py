"""The place gazetteer: every province, prefecture, county and district with its code and parents."""

from __future__ import annotations

import contextlib
import io
import marshal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from shared.contracts import PlaceLevel

from .lexicon import cache_dir, write_cache
from .phrases import PhraseIndex

Level = Literal["province", "prefecture", "county"]
LEVEL_RANK = {"province": 0, "prefecture": 1, "county": 2}

# Entries in the division data that are not places one can name ('市辖区', '高新区', '城区').
_GENERIC_NAMES = frozenset(
    {"市辖区", "市直辖行政区划", "省直辖行政区划", "城区", "郊区", "矿区", "新区"}
    | {"东区", "西区", "南区", "北区", "中区", "高新区", "经开区", "开发区"}
)
_GENERIC_PARTS = ("开发区", "高新技术", "经济技术", "管理区", "管委会", "示范区")
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "省", "市", "区", "县", "州", "盟", "旗")


@dataclass(frozen=True)
class Place:
    """One administrative division with its parents."""

    name: str
    level: Level
    parents: tuple[Place, ...]
    code: str

    def __hash__(self) -> int:
        # The code alone: hashing the chain of parents at every set lookup costs, and equal places share it.
        return hash(self.code)

    @property
    def display(self) -> str:
        """Official form used on figures: '杭州市西湖区', '义乌市', '苏州市', '成都市武侯区'."""
        if self.level == "county" and not self.name.endswith("市"):
            prefecture = next((p for p in self.parents if p.level == "prefecture"), None)
            if prefecture is not None and not prefecture.name.endswith(("直辖行政区划", "直辖县级行政区划")):
                return prefecture.name + self.name
        return self.name

    @property
    def kind(self) -> PlaceLevel:
        """The level an analyst reads: a county-level unit named 区 is a district."""
        if self.level == "county" and self.name.endswith("区"):
            return "district"
        return self.level

    def is_within(self, other: Place) -> bool:
        """Whether `other` is this place or one of its parents."""
        return other == self or other in self.parents


@dataclass(frozen=True, slots=True)
class Mention:
    """A place named in a text: offsets, the surface, and its candidate places."""

    start: int
    end: int
    surface: str
    places: tuple[Place, ...]
    suffixed: bool


class Gazetteer:
    """Names and aliases of every province, prefecture and county; build once per process."""

    def __init__(self, divisions: Mapping[str, Any]) -> None:
        self._by_name: dict[str, list[Place]] = {}
        self._full_names: dict[Place, str] = {}
        self._written_in_full: set[str] = set()  # every suffixed form, the official short ones too
        self._pending_districts: list[tuple[str, Place]] = []
        self._walk(divisions, 0, ())
        for district, county in self._pending_districts:
            if district not in self._by_name:  # the district form is not some other place's name
                self._add(district, Place(district, "county", county.parents, county.code), suffixed=True)
        self._names: PhraseIndex[tuple[str, tuple[Place, ...], bool]] | None = None

    @classmethod
    def from_jionlp(cls, *, folder: Path | None = None) -> Gazetteer:
        """jionlp's bundled china_location division data, kept in compact form in the cache folder after
        the first run (importing jionlp and parsing its data takes half a second)."""
        cached = (folder or cache_dir()) / f"divisions-jionlp-{metadata.version('jionlp')}.marshal"
        try:
            return cls(marshal.loads(cached.read_bytes()))
        except (OSError, EOFError, ValueError, TypeError):
            pass
        # jionlp prints a banner on import; stdout carries our JSON lines, so keep it quiet.
        with contextlib.redirect_stdout(io.StringIO()):
            from jionlp.dictionary.dictionary_loader import china_location_loader

            divisions = china_location_loader()
        write_cache(cached, marshal.dumps(divisions))
        return cls(divisions)

    def _walk(self, node: Mapping[str, Any], depth: int, parents: tuple[Place, ...]) -> None:
        levels: tuple[Level, ...] = ("province", "prefecture", "county")
        for key, child in node.items():
            if key.startswith("_") or depth > 2:
                continue
            place = Place(key, levels[depth], parents, str(child.get("_admin_code", "")))
            if key not in _GENERIC_NAMES and not any(part in key for part in _GENERIC_PARTS):
                self._add(key, place, suffixed=True)
                aliases = child.get("_alias") or []
                for alias in [aliases] if isinstance(aliases, str) else aliases:
                    if alias != key and len(alias) >= 2 and alias not in _GENERIC_NAMES:
                        self._add(alias, place, suffixed=False)
                        if key.endswith("自治州") and key.startswith(alias):
                            # '楚雄州' for 楚雄彝族自治州: the official short form, as sure as the full name.
                            self._add(alias + "州", place, suffixed=True)
            if depth == 2:
                self._add_district_form(key, place)
            # A municipality repeats itself as its own prefecture: keep one place for the name.
            self._walk(child, depth + 1, (*parents, place))

    def _add_district_form(self, name: str, place: Place) -> None:
        """A county or county-level city turned district ('长泰县' → '长泰区') after the data was compiled."""
        stem = name[:-1]
        if len(stem) < 2 or not name.endswith(("县", "市")) or any(part in name for part in _GENERIC_PARTS):
            return
        self._pending_districts.append((stem + "区", place))

    def _add(self, name: str, place: Place, *, suffixed: bool) -> None:
        places = self._by_name.setdefault(name, [])
        if suffixed:
            self._full_names.setdefault(place, name)
            self._written_in_full.add(name)
        if not any(p.name == place.name and p.parents[:1] == place.parents[:1] for p in places):
            places.append(place)

    def lookup(self, name: str) -> Place | None:
        """The one place a written name ('老河口市', '深圳市福田区', '保定') stands for, or None if unknown
        or ambiguous; a name may carry the levels above it."""
        name = name.strip()
        for start in range(len(name) - 1):
            tail = name[start:]
            places = collapse_same_names(self._by_name.get(tail, []))
            if start:
                head = name[:start]
                places = tuple(
                    p
                    for p in places
                    if any(head.endswith(q.name) or q.name.startswith(head) for q in p.parents)
                )
            if len(places) == 1:
                return places[0]
            if places:
                return None
        return None

    def full_names(self) -> list[str]:
        """Every name written with its official suffix ('潍城区', '保定市')."""
        return sorted(self._written_in_full)

    def places_named(self, name: str) -> list[Place]:
        """Every place a name may stand for."""
        return self._by_name.get(name, [])

    def full_name(self, place: Place) -> str:
        """The place's name with its official suffix."""
        return self._full_names.get(place, place.name)

    def is_full_name(self, name: str) -> bool:
        """Whether `name` is written with its official suffix."""
        return name.endswith(_SUFFIXES) and name in self._written_in_full

    def scan(self, text: str) -> list[Mention]:
        """Every longest name occurrence in `text`, leftmost first, unvalidated: one automaton pass."""
        if self._names is None:
            # Each name's places and form are worked out once, here, not at every occurrence.
            self._names = PhraseIndex(
                (name, (name, tuple(places), self.is_full_name(name)))
                for name, places in self._by_name.items()
            )
        return [
            Mention(start, end, name, places, suffixed)
            for start, end, ((name, places, suffixed),) in self._names.find_longest(text)
        ]


def collapse_same_names(places: Iterable[Place]) -> tuple[Place, ...]:
    """Municipalities appear as province and prefecture: keep the deepest of same-named places."""
    result: dict[str, Place] = {}
    for place in places:
        kept = result.get(place.name + place.code[:2])
        if kept is None or LEVEL_RANK[place.level] > LEVEL_RANK[kept.level]:
            result[place.name + place.code[:2]] = place
    return tuple(result.values())
