"""The place pass, sentence by sentence: whose figure it is, with the page's scope (page_scope.py) in hand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .gazetteer import Place
from .page import Page, Spotted
from .page_scope import PageScope, PlaceCall
from .places import PlaceResolver, collapse_chains, most_specific
from .scoping import (
    LIST_AFTER,
    TOPIC_LEAD,
    WHOLE_AFTER,
    adjacent_places,
    clause_places,
    distributed_places,
    national_figures,
    whole_place,
)
from .sentences import LIST_MARKS, Sentence, heading_level

# '区里还投入…', '该县…': a sentence opening on the district or county just named goes on about it.
_BACK_REFERENCE = re.compile(r"^(?:该|本|全)?(?P<level>区|县)(?:里|内|委|政府|文明办|财政)")
# A street or township written after its district ('濂溪区十里街道'): later named alone, it is still there.
_STREET_AFTER = re.compile(r"[\u4e00-\u9fff]{2,6}?(?:街道|镇|乡)")
_CLAUSE_MARK = re.compile(r"[，,。；;！？!?：:\n]")
_OPEN_QUOTE = ("“", "「", '"')
_CLOSE_QUOTE = re.compile(r"[”」\"]")
_SPEAKER = re.compile(r"[^。！？!?“”]{0,24}?(?:说|表示|介绍|告诉|称|坦言|感慨)")


@dataclass
class _PlacesInForce:
    """The places in force while reading one section top to bottom."""

    paragraph_index: int = -1
    place: Place | None = None  # a place opening the paragraph holds for the rest of it
    local: Place | None = None  # the last place a sentence of this paragraph was led by
    quote_end: int = -1  # where the quotation being read closes
    quote_place: Place | None = None  # the place of its speaker ('“…”临泽县文明办负责人说')
    heading: Place | None = None  # the place a segment head names ('一、武汉市', '■ 惠州')
    heading_level: int = 0  # its numbering depth (0 when it is not numbered)
    speakers: bool = False  # the heading is a speaker's ('昭化区副区长 张涛：'): a transcript's turns


def attribute_places(
    page: Page, spotted: list[Spotted], resolver: PlaceResolver, scope: PageScope
) -> list[list[PlaceCall]]:
    """For each spotted sentence, the place of each of its figures."""
    by_sentence = {s.sentence_index: s for s in spotted}
    streets = _streets_of(resolver)
    result: list[list[PlaceCall]] = []
    state = _PlacesInForce()
    section = -2
    for index, sentence in enumerate(page.sentences):
        if page.section_of[index] != section:
            section = page.section_of[index]
            state = _PlacesInForce()
        section_call = scope.sections[section] if section >= 0 else scope.document
        place = _read_sentence(sentence, state, resolver, streets, section_call.place)
        spot = by_sentence.get(index)
        if spot is None:
            continue
        if place is section_call.place:
            sentence_call = section_call
        else:
            sentence_call = PlaceCall(place, "section" if place is state.heading else "sentence")
        shared: dict[int, Place | None] = {
            **clause_places(sentence, spot.figures, resolver, place, section_call.place),
            **distributed_places(sentence, spot.figures, resolver),
            **adjacent_places(sentence, spot.figures, resolver),
        }
        for i in national_figures(sentence.compact, spot.figures):
            shared[i] = None
        result.append(
            [
                (PlaceCall(shared[i], "sentence" if shared[i] else "none") if i in shared else sentence_call)
                for i in range(len(spot.figures))
            ]
        )
    return result


def _read_sentence(
    sentence: Sentence,
    state: _PlacesInForce,
    resolver: PlaceResolver,
    streets: dict[str, Place],
    section_place: Place | None,
) -> Place | None:
    """The place a sentence speaks for, updating the places in force."""
    if sentence.paragraph.index != state.paragraph_index:
        state.paragraph_index = sentence.paragraph.index
        state.place = None
        state.local = None
        _read_segment_head(sentence, resolver, state)
    if state.heading is not None:
        section_place = state.heading  # '一、武汉市', '■ 惠州': the segment's place holds under its head
    fallback = state.place or section_place
    if state.place is not None and _names_elsewhere(sentence, resolver, state.place):
        fallback = section_place  # the paragraph's place does not hold where others are named
    place = _sentence_place(sentence, resolver, fallback, section_place)
    # '今年一季度，全市…' after a district's sentence; '在东台，全市…' is 东台's own whole.
    place = whole_place(sentence.compact, place, section_place) or place
    if sentence.compact.startswith(_OPEN_QUOTE) and sentence.start >= state.quote_end:
        state.quote_end, state.quote_place = _speaker_of(sentence, resolver)
    if place is fallback and sentence.start < state.quote_end and state.quote_place is not None:
        place = state.quote_place
    if place is fallback:
        place = _street_place(sentence.compact, streets, fallback) or place
    if place is fallback:
        place = _referred_back(sentence.compact, (state.local, fallback, section_place)) or place
    if place is not fallback:
        state.local = place
    if sentence.position == 0 and place is not section_place:
        state.place = place
    return place


_SEGMENT_HEAD_MAX = 20
# '聊城日报 2025年10月22日': a paper named after its city says who published, not where the text is.
_OUTLET_AFTER = re.compile(r"日报|晚报|晨报|都市报|广播电视台|电视台|融媒体?中心|新闻网|发布")
# A speaker's label opening a paragraph: who (office and name) and a colon.
_NAME_LABEL = re.compile(r"^[\u4e00-\u9fff·]{2,4}[：:]")
_SPEAKER_LABEL = re.compile(
    r"^[^：:。，,！？“”]{0,24}(?:主任|部长|书记|区长|县长|市长|局长|主持人|负责人|常委|主席|委员|秘书长|指挥长)"
    r"[^：:。，,！？“”]{0,8}[：:]"
)
# A province named as the body that speaks ('省委', '省文明办') is not the subject of the figures.
_ORGAN_AFTER = re.compile(
    r"(?:省|自治区)?(?:委|政府|人大|政协|文明办|文明委|宣传部|党委|人民|日报|卫视|新闻)"
)
_FRAME_AFTER = re.compile(r"[，,、和与及】\]〕：:]")
# '与肇庆相邻的佛山市…', '延边朝鲜族自治州首府延吉市…': the first place only describes the second, which
# leads the sentence.
_NEIGHBOUR_AFTER = re.compile(r"(?:相邻|毗邻|接壤|相连|一江之隔)的|首府|下辖的?|所辖的?|代管的?")


def _read_segment_head(sentence: Sentence, resolver: PlaceResolver, state: _PlacesInForce) -> None:
    """A heading or a short marked line naming a place opens that place's segment; a heading of the same
    or a higher rank that names none closes it."""
    para = sentence.paragraph
    line = resolver.text[para.start : para.end].strip()
    speaker = _SPEAKER_LABEL.match(line) or (_NAME_LABEL.match(line) if state.speakers else None)
    if speaker is not None:
        # '昭化区副区长 张涛：…' at a press conference: what follows is that district's, until the next
        # speaker; one from the city ('市文明办主任 罗建军：', or '罗建军：' again) gives the floor back to
        # the page's place.
        raw = resolver.text[para.start : para.end]
        label_start = para.start + len(raw) - len(raw.lstrip())
        named = [
            p
            for _, p in collapse_chains(resolver.in_span(label_start, label_start + speaker.end()))
            if p.level != "province"
        ]
        state.heading, state.heading_level = most_specific(named), 0
        state.speakers = True
        return
    marked = line.startswith(LIST_MARKS) or line.startswith(("【", "["))
    if not (para.is_heading or (marked and len(line) <= _SEGMENT_HEAD_MAX)):
        return
    level = heading_level(line)
    named = [
        p
        for m, p in collapse_chains(resolver.in_span(para.start, para.end))
        if p.level != "province" and not _OUTLET_AFTER.match(resolver.text, m.end)
    ]
    if named:
        state.heading, state.heading_level = most_specific(named), level
        state.speakers = False
    elif para.is_heading and state.heading is not None and (level or 1) <= (state.heading_level or 1):
        state.heading = None


def _sentence_place(
    sentence: Sentence, resolver: PlaceResolver, fallback: Place | None, section_place: Place | None
) -> Place | None:
    named = collapse_chains(resolver.in_span(sentence.start, sentence.end))
    for mention, place in named:
        lead = "".join(ch for ch in resolver.text[sentence.start : mention.start] if not ch.isspace())
        at_lead = bool(TOPIC_LEAD.match(lead))
        if at_lead and WHOLE_AFTER.match(resolver.text, mention.end):
            return place  # '深圳全市…', '福建全省…': the place named is the whole the sentence speaks for
        if _NEIGHBOUR_AFTER.match(resolver.text, mention.end):
            continue
        if place.level == "province":
            if (
                at_lead
                and not _ORGAN_AFTER.match(resolver.text, mention.end)
                and not _FRAME_AFTER.match(resolver.text, mention.end)
                and fallback != place
            ):
                # '广西壮族自治区平均水平为…', '据悉，广东省目前…': the province opens the sentence as its
                # subject; '在江西省，…' only sets the scene.
                return place
            continue
        if not at_lead:
            break
        if section_place is not None and place == section_place:
            return section_place  # the section's own place, named again: no longer the paragraph's part
        if fallback is not None and fallback.is_within(place):
            if place != fallback and mention.suffixed and place.level == "prefecture":
                return place  # '苏州市实名注册志愿者…' in a page about 张家港: the city's own figure
            # The section's own place, or its province: the figure stays the section's.
            return fallback
        if section_place is not None and place.is_within(section_place):
            clause_end = _clause_end(resolver.text, mention.end)
            others = {
                p
                for m, p in named
                if p.level != "province"
                and p != place
                and m.start < clause_end
                and not _NEIGHBOUR_AFTER.match(resolver.text, m.end)
            }
            if others - {section_place} or LIST_AFTER.match(resolver.text, mention.end):
                # 'A区…、B县…等10个项目': a list across the city's districts speaks for the city.
                return section_place
        return place
    return fallback


def _referred_back(compact: str, in_force: tuple[Place | None, ...]) -> Place | None:
    """The district or county that '区里…', '县文明办…' opening the sentence goes on about: the nearest in
    force (the last one a sentence was led by, then the paragraph's, then the section's) of that kind."""
    m = _BACK_REFERENCE.match(compact)
    if m is None:
        return None
    for place in in_force:
        if place is not None and place.level == "county" and place.name.endswith(m.group("level")):
            return place
    return None


def _streets_of(resolver: PlaceResolver) -> dict[str, Place]:
    """Streets and townships the page places under a district or county, by name."""
    streets: dict[str, Place] = {}
    for mention, place in collapse_chains(resolver.mentions):
        m = _STREET_AFTER.match(resolver.text, mention.end)
        if place.level == "county" and m:
            streets.setdefault(m.group(), place)
    return streets


def _street_place(compact: str, streets: dict[str, Place], fallback: Place | None) -> Place | None:
    """The district of a street that leads the sentence ('在十里街道，改造后的小区…')."""
    for name, place in streets.items():
        pos = compact.find(name)
        if pos >= 0 and TOPIC_LEAD.match(compact[:pos]) and (fallback is None or place.is_within(fallback)):
            return place
    return None


def _clause_end(text: str, pos: int) -> int:
    """The end of the clause of `text` that goes on at `pos`."""
    m = _CLAUSE_MARK.search(text, pos)
    return m.start() if m else len(text)


def _names_elsewhere(sentence: Sentence, resolver: PlaceResolver, place: Place) -> bool:
    """Whether the sentence names a city or county other than `place`, its parents and its parts."""
    for _, named in resolver.in_span(sentence.start, sentence.end):
        if named.level != "province" and not named.is_within(place) and not place.is_within(named):
            return True
    return False


def _speaker_of(sentence: Sentence, resolver: PlaceResolver) -> tuple[int, Place | None]:
    """Where the quotation opening `sentence` closes, and the place of the speaker named right after it."""
    text = resolver.text
    para_end = sentence.paragraph.end
    close = _CLOSE_QUOTE.search(text, sentence.start + 1, para_end)
    if close is None:
        return -1, None
    after = close.end()
    while after < para_end and text[after].isspace():
        after += 1
    if not _SPEAKER.match(text, after):
        return close.start(), None
    for mention, place in collapse_chains(resolver.in_span(after, para_end)):
        if mention.start == after and place.level != "province":
            return close.start(), place
    return close.start(), None
