"""Place mentions in one document, resolved against the gazetteer with the document as context."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import pairwise

from .gazetteer import LEVEL_RANK, Gazetteer, Mention, Place, collapse_same_names

# A bare name followed by these is a street, venue or feature named after the place ('长春路', '延安路').
_FEATURE_AFTER = re.compile(
    r"^(?:路|街|大道|大街|巷|胡同|桥|公园|广场|大厦|站|机场|港|湖|山|河|江|中学|小学|大学|学院|医院|宾馆|饭店|酒店|"
    r"银行|集团|公司|剧院|大剧院|剧场|号|村|镇|乡|社区|小区|花园|新村|路口)"
)
_LIST_GLUE = frozenset({"、", "和", "与", "及", "，"})
_BRACKETED_LABEL = re.compile(r"^[【\[〔][^】\]〕]{1,10}[】\]〕]")
_DATELINE_AFTER = re.compile(r"讯|电|\d{1,2}月\d{1,2}日电")
# What may stand between a clause's start and a bare county name that is its subject.
_COUNTY_LEAD = re.compile(r"\s*(?:(?:19|20)\d{2}年度?[，,]?)?(?:在|而|其中|同时)?$")


class PlaceResolver:
    """Validates mentions in one document and resolves them to places."""

    def __init__(self, gazetteer: Gazetteer, text: str, word_bounds: Callable[[str], set[int]]) -> None:
        self._gazetteer = gazetteer
        self._text = text
        raw = gazetteer.scan(text)
        # Where names written in full stand ('三台县', '六安市'): numerals inside them are not figures.
        self._written_starts = [m.start for m in raw if m.suffixed]
        self._written_ends = [m.end for m in raw if m.suffixed]
        self._suffixed_in_doc: set[Place] = set()
        for mention in raw:
            if mention.suffixed:
                self._suffixed_in_doc.update(mention.places)
        self._word_bounds = word_bounds
        self._words_at: dict[int, bool] = {}
        self._clause_words: dict[tuple[int, int], set[int]] = {}
        counts: Counter[Place] = Counter()
        first_line_end = text.find("\n", len(text) - len(text.lstrip()))
        for mention in raw:
            candidates = collapse_same_names(mention.places)
            if len(candidates) != 1:
                continue
            counts[candidates[0]] += 1
            if mention.start < first_line_end:
                counts[candidates[0]] += 1  # named in the title
            # A dateline vouches for the bare name everywhere else in the document.
            if not mention.suffixed and self._is_dateline(mention):
                self._suffixed_in_doc.add(candidates[0])
        # A page names the place it is about more than once or in its title: so is a city named in short
        # form only ('保定') recognised, when no other place has that name.
        self._prominent = {place for place, count in counts.items() if count >= 2}
        # Short names listed together ('昆明、贵阳、成都') vouch for one another as cities.
        for before, after in pairwise(raw):
            pair = [collapse_same_names(before.places), collapse_same_names(after.places)]
            if text[before.end : after.start] in _LIST_GLUE and all(
                len(c) == 1 and c[0].level == "prefecture" for c in pair
            ):
                self._prominent.update(c[0] for c in pair)
        self._named_places = {
            collapse_same_names(m.places)[0]
            for m in raw
            if m.suffixed and len(collapse_same_names(m.places)) == 1
        }
        self.mentions: list[tuple[Mention, Place]] = self._resolve_all(raw)
        self._starts: list[int] | None = None

    def _resolve_all(self, raw: list[Mention]) -> list[tuple[Mention, Place]]:
        # Strong context: places written out with their suffix, and the parents of those.
        context: set[Place] = set()
        for mention in raw:
            if mention.suffixed and len(mention.places) == 1 and mention.places[0].level != "county":
                # A district does not vouch for its own city: a bare '西湖区' does not name 杭州.
                context.add(mention.places[0])
                context.update(mention.places[0].parents)
        resolved = self._resolve_pass(raw, context)
        # A district the page is about vouches for its city's short name ('深圳全市…' on 福田区's page).
        cities_of_districts = {
            parent
            for _, p in resolved
            if p.level == "county"
            for parent in p.parents
            if parent.level == "prefecture"
        }
        if cities_of_districts - self._suffixed_in_doc:
            self._suffixed_in_doc |= cities_of_districts
            resolved = self._resolve_pass(raw, context)
        # A city the page names by a chain ('江苏盐城') or a dateline vouches for its districts too.
        vouched = {p for _, p in resolved if p.level == "prefecture"} - context
        if vouched:
            for place in vouched:
                context.add(place)
                context.update(place.parents)
            resolved = self._resolve_pass(raw, context)
        return resolved

    def _resolve_pass(self, raw: list[Mention], context: set[Place]) -> list[tuple[Mention, Place]]:
        resolved: list[tuple[Mention, Place]] = []
        previous: Place | None = None
        previous_end = -1
        for mention in raw:
            adjacent_parent = previous if previous is not None and previous_end == mention.start else None
            found = self._resolve(mention, adjacent_parent, context)
            if found is not None:
                resolved.append((mention, found))
                previous, previous_end = found, mention.end
            else:
                previous, previous_end = None, -1
        return resolved

    def _resolve(self, mention: Mention, adjacent_parent: Place | None, context: set[Place]) -> Place | None:
        candidates = collapse_same_names(mention.places)
        if adjacent_parent is not None:
            under = [p for p in candidates if adjacent_parent in p.parents]
            if under:
                return under[0]
        if not mention.suffixed and _FEATURE_AFTER.match(self._text[mention.end : mention.end + 4]):
            return None
        place = self._resolve_in_context(mention, candidates, context)
        # Segmenting the clause costs: asked only of a bare name that would count otherwise.
        if place is not None and not mention.suffixed and not self._stands_as_word(mention):
            return None
        return place

    def _resolve_in_context(
        self, mention: Mention, candidates: tuple[Place, ...], context: set[Place]
    ) -> Place | None:
        in_context = [p for p in candidates if any(parent in context for parent in p.parents) or p in context]
        if len(in_context) != 1 and len(candidates) > 1:
            # '通化' is 通化市 and 通化县: the one the page also writes out in full.
            written = [p for p in (in_context or candidates) if p in self._suffixed_in_doc]
            if len(written) == 1:
                in_context = written
        if len(in_context) == 1:
            candidates = tuple(in_context)
        elif len(candidates) > 1:
            candidates = tuple(in_context) if in_context else candidates
            if len(candidates) != 1:
                return None
        place = candidates[0]
        if place.level == "province":
            return place
        if mention.suffixed:
            # A district or county named alone needs its city nearby (鼓楼区 is in several cities), unless
            # its full name is China's only one ('福田区' is 深圳's) and the page is about it, or about no
            # other city ('园内南湖区' in a page about 孝义 is a park's lake, not 嘉兴's district).
            if place.level == "county" and not place.name.endswith("市"):
                unique = len(collapse_same_names(self._gazetteer.places_named(mention.surface))) == 1
                if unique and (place in self._prominent or self._named_places <= {place}):
                    return place
                return place if any(parent in context for parent in place.parents) else None
            return place
        # A bare name ('苏州', '义乌') counts only when the document also writes it in full,
        # or when it stands as a dateline ('【苏州】', '本报苏州讯', '苏州：' opening a line),
        # or when it names a city of a province the document writes out ('江西省…赣州、吉安').
        if place in self._suffixed_in_doc or (place.level == "prefecture" and place in self._prominent):
            return place
        if place.level == "prefecture" and any(parent in context for parent in place.parents):
            return place
        # A county-level city named bare ('在东台，…') inside its own city's report.
        county_city = place.level == "county" and self._gazetteer.full_name(place).endswith("市")
        if county_city and any(
            parent in context and parent.level == "prefecture" for parent in place.parents
        ):
            return place
        # A county or banner named bare as the subject opening a clause ('泽州新建…', '2024年，阳城…',
        # '敖汉改造…') inside its own city's report. Not a district: their short names are words ('前进',
        # '光明', '向阳').
        county = place.level == "county" and self._gazetteer.full_name(place).endswith(("县", "旗"))
        if (
            county
            and _COUNTY_LEAD.match(self._text, _clause_start(self._text, mention.start), mention.start)
            and any(parent in context and parent.level == "prefecture" for parent in place.parents)
        ):
            return place
        return None

    def _stands_as_word(self, mention: Mention) -> bool:
        """Whether a bare name is a word of its clause ('福清' is not one in '幸福清单'); only the clause
        around it is segmented, not the whole document."""
        found = self._words_at.get(mention.start)
        if found is None:
            start = _clause_start(self._text, mention.start)
            end = _clause_end(self._text, mention.end)
            bounds = self._clause_words.get((start, end))
            if bounds is None:  # names listed in one clause share its segmentation
                bounds = self._clause_words[start, end] = self._word_bounds(self._text[start:end])
            found = mention.start - start in bounds and mention.end - start in bounds
            self._words_at[mention.start] = found
        return found

    def _is_dateline(self, mention: Mention) -> bool:
        line_start = self._text.rfind("\n", 0, mention.start) + 1
        lead = _BRACKETED_LABEL.sub("", self._text[line_start : mention.start].strip())
        after = self._text[mention.end : mention.end + 1]
        # '【苏州】', '苏州：' opening a line; '【浙江】湖州：' in a roundup, the province bracketed first.
        if lead in ("", "【", "[", "〔") and after in ("】", "]", "〕", "：", ":", " ", "\u3000"):
            return True
        return lead.endswith(("本报", "新华社", "中新社", "中新网")) and bool(
            _DATELINE_AFTER.match(self._text, mention.end)
        )

    def inside_written_name(self, start: int, end: int) -> bool:
        """Whether [start, end) of the text overlaps a place name written in full."""
        k = bisect_left(self._written_starts, end) - 1
        return k >= 0 and self._written_ends[k] > start

    @property
    def text(self) -> str:
        """The document text the mentions are offsets into."""
        return self._text

    def in_span(self, start: int, end: int) -> list[tuple[Mention, Place]]:
        """Resolved mentions inside [start, end) of the document text (a binary search: long documents
        ask this for every sentence)."""
        if self._starts is None:
            self._starts = [m.start for m, _ in self.mentions]
        first = bisect_left(self._starts, start)
        last = bisect_left(self._starts, end, lo=first)
        return [(m, p) for m, p in self.mentions[first:last] if m.end <= end]


_CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:、\n]")
_CLAUSE_REACH = 24


def _clause_start(text: str, pos: int) -> int:
    """Where the clause holding `pos` begins, looking back a few characters at most."""
    reach = max(0, pos - _CLAUSE_REACH)
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text, reach, pos)]
    return breaks[-1] if breaks else reach


def _clause_end(text: str, pos: int) -> int:
    """Where the clause going on at `pos` ends, looking ahead a few characters at most."""
    m = _CLAUSE_BREAK.search(text, pos, pos + _CLAUSE_REACH)
    return m.start() if m else min(len(text), pos + _CLAUSE_REACH)


def most_specific(places: Iterable[Place]) -> Place | None:
    """The deepest place, first one on ties; a county beats its own city."""
    best: Place | None = None
    for place in places:
        if best is None or LEVEL_RANK[place.level] > LEVEL_RANK[best.level]:
            best = place
    return best


def main_place(mentions: list[tuple[Mention, Place]]) -> Place | None:
    """The place a text is about: the most named city or county, counting a county's mentions for it."""
    counts: Counter[Place] = Counter()
    first_seen: dict[Place, int] = {}
    for mention, place in collapse_chains(mentions):
        if place.level == "province":
            continue
        counts[place] += 1
        first_seen.setdefault(place, mention.start)
    if not counts:
        provinces = [p for _, p in mentions]
        return provinces[0] if provinces else None
    return max(counts, key=lambda p: (counts[p], -first_seen[p]))


def collapse_chains(mentions: list[tuple[Mention, Place]]) -> list[tuple[Mention, Place]]:
    """Keep the deepest place of a written chain ('成都市武侯区' names 武侯区, not also 成都市)."""
    kept: list[tuple[Mention, Place]] = []
    for mention, place in mentions:
        if kept and kept[-1][0].end == mention.start and place.is_within(kept[-1][1]):
            head = kept[-1][0]
            chain = Mention(
                head.start, mention.end, head.surface + mention.surface, (place,), mention.suffixed
            )
            kept[-1] = (chain, place)
        else:
            kept.append((mention, place))
    return kept


_DISTRIBUTIVE = "分别"
_PLACE_LIST_GLUE = frozenset("、和与及")
# What the listed places have in common may stand before 分别 ('赣州市、吉安市测评成绩分别为…').
_SHARED_NOUN = re.compile(r"^[^\d的，,。；;：:、和与及“”\s]{1,6}$")


def distribute_places(
    compact: str,
    figure_starts: list[int],
    named: list[tuple[int, int, Place]],
    clause_of: Callable[[int], int],
) -> dict[int, Place]:
    """Places shared out by 分别: 'A区、B区分别新增4300个和3800个' gives A区 the first value, B区 the second.

    `figure_starts` are compact offsets of the sentence's figures, `named` the (start, end, place) of its
    place names in compact offsets, `clause_of(pos)` the start of the clause holding `pos`.
    Returns figure index → place.
    """
    result: dict[int, Place] = {}
    marker = compact.find(_DISTRIBUTIVE)
    while marker >= 0:
        clause_start = clause_of(marker)
        listed = [
            (s, e, p) for s, e, p in named if clause_start <= s and e <= marker and p.level != "province"
        ]
        # The names must form one list that ends right at 分别 ('A区、B区分别'), joined only by 、和与及.
        chain: list[Place] = []
        end = marker
        for s, e, p in reversed(listed):
            gap = compact[e:end]
            if gap and (gap not in _PLACE_LIST_GLUE if chain else not _SHARED_NOUN.match(gap)):
                break
            chain.insert(0, p)
            end = s
        next_marker = compact.find(_DISTRIBUTIVE, marker + len(_DISTRIBUTIVE))
        limit = next_marker if next_marker >= 0 else len(compact)
        after = [
            i
            for i, start in enumerate(figure_starts)
            if marker < start < limit and clause_of(start) == clause_of(marker + len(_DISTRIBUTIVE))
        ]
        if len(chain) >= 2 and len(chain) == len(after):
            result.update(zip(after, chain, strict=True))
        marker = next_marker
    return result
