"""The page's place and each section's: what the title names, a province's own report, a section's head."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from shared.contracts import PlaceBasis

from .gazetteer import Place
from .page import Page
from .places import PlaceResolver, main_place, most_specific
from .sentences import Paragraph

_VENUE = re.compile(r"(?:市|县|区)?(?:召开|举行|举办|开幕|启动|落幕)")


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """The place a figure is given, and why."""

    place: Place | None
    basis: PlaceBasis


@dataclass(frozen=True)
class PageScope:
    """The places a page and each of its sections are about, with why."""

    document: PlaceCall
    sections: list[PlaceCall]
    title: Place | None

    def listed(self) -> tuple[str, ...]:
        """The page's places for its metadata: the page's own first, then each section's."""
        ordered = [self.document.place if len(self.sections) == 1 else self.title]
        ordered += [call.place for call in self.sections]
        places = tuple(dict.fromkeys(p.display for p in ordered if p is not None))
        if not places and self.document.place is not None:
            return (self.document.place.display,)
        return places


def page_scope(page: Page, resolver: PlaceResolver, file_place: Place | None = None) -> PageScope:
    """What the page is about: its title's place, else the place it names most, else the file's."""
    title_place = _title_place(page, resolver)
    # A page titled by a province that speaks of '全省' is the province's own report; so is a page whose
    # title names no city and that speaks of '全省/我省' throughout.
    province = _reporting_province(page, resolver, title_place)
    provincial = province is not None
    if title_place and (title_place.level != "province" or provincial):
        document = PlaceCall(title_place, "title")
    elif province is not None:
        document = PlaceCall(province, "document")
    else:
        named = main_place(resolver.mentions)
        document = (
            PlaceCall(named, "document") if named else PlaceCall(file_place, "file" if file_place else "none")
        )
    # A section that names no place of its own has none, unless the file says where it is from.
    unplaced = document if document.basis == "file" else PlaceCall(None, "none")
    sections = [
        _section_place(page, i, resolver, title_place, document if provincial else None) or unplaced
        for i in range(len(page.sections))
    ]
    return PageScope(document, sections, title_place)


_PROVINCE_SCOPE = re.compile(r"全省|我省|全区|我区")
_CITY_SCOPE = re.compile(r"全市|我市|全县|我县")


def _reporting_province(page: Page, resolver: PlaceResolver, title_place: Place | None) -> Place | None:
    """The province whose own report the page is, if it is one."""
    title = page.facts.title or ""
    if title_place is not None and title_place.level == "province":
        return title_place if "全省" in page.text or "全区" in page.text else None
    if title_place is not None:
        return None
    # A city's report speaks of 全省 to compare ('在全省率先'); a province's speaks of it more than of 全市.
    in_title = bool(_PROVINCE_SCOPE.search(title))
    province_words = len(_PROVINCE_SCOPE.findall(page.text))
    if not in_title and (province_words < 3 or province_words <= len(_CITY_SCOPE.findall(page.text))):
        return None
    provinces = Counter(p for _, p in resolver.mentions if p.level == "province")
    provinces.update(p.parents[0] for _, p in resolver.mentions if p.level != "province" and p.parents)
    if not provinces:
        return None
    province, _ = provinces.most_common(1)[0]
    # '全区' speaks for a region only in an autonomous region's report; elsewhere it is a district's.
    if not _PROVINCE_SCOPE.search(
        page.text.replace("全区", "").replace("我区", "")
    ) and not province.name.endswith("自治区"):
        return None
    return province


def _title_place(page: Page, resolver: PlaceResolver) -> Place | None:
    title = page.facts.title
    if not title:
        return None
    start = page.text.find(title)
    if start < 0:
        return None
    named = resolver.in_span(start, start + len(title))
    # '…推进会在株洲召开': the place a meeting is held in is its venue, not what the page reports on.
    subjects = [
        p for m, p in named if not _VENUE.match(page.text, m.end) or page.text[m.start - 1 : m.start] != "在"
    ]
    # '通化、白山两市创城观察': a title naming several places side by side is about none of them alone.
    apart = {
        p for p in subjects if p.level != "province" and not any(p != q and p.is_within(q) for q in subjects)
    }
    if len(apart) >= 2:
        return most_specific(
            p for p in subjects if p.level == "province" and all(q.is_within(p) for q in apart)
        )
    return most_specific(subjects)


def _section_place(
    page: Page, index: int, resolver: PlaceResolver, title_place: Place | None, province: PlaceCall | None
) -> PlaceCall | None:
    """The place a section is about; `province` is the page's own when it is a province's report."""
    section = page.sections[index]
    if section.headline:
        head_end = section.start
        for para in page.paragraphs:
            if para.end <= section.start:
                continue
            if para.start >= section.end or not (para.is_heading or _is_subtitle(para, page.text)):
                break
            head_end = para.end
        place = most_specific(p for _, p in resolver.in_span(section.start, head_end))
        # A headline naming only its province ('江西某县：…') says where, not whose: unless the page is the
        # province's own report, the section is about the place it names most.
        if place is not None and (place.level != "province" or province is not None):
            return PlaceCall(place, "section")
    single = len(page.sections) == 1
    if province is not None:  # a province's report: a part that names no place of its own is the province's
        return province
    if single and title_place is not None and title_place.level != "province":
        return PlaceCall(title_place, "title")
    named = main_place(resolver.in_span(section.start, section.end))
    if named is not None:
        return PlaceCall(named, "document" if single else "section")
    return PlaceCall(title_place, "title") if title_place else None


def _is_subtitle(para: Paragraph, text: str) -> bool:
    """A '——' subtitle or '◎' byline line directly under a headline."""
    return text[para.start : para.end].lstrip().startswith(("——", "◎", "--"))
