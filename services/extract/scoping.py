"""Places inside a sentence: a clause opened by a place of its own, 全市/全省 scopes, lists shared by 分别."""

from __future__ import annotations

import re
from bisect import bisect_left

from shared.text import ORDINAL_NUMERALS

from .figures import Figure
from .gazetteer import Place
from .places import PlaceResolver, collapse_chains, distribute_places
from .sentences import Sentence, clause_bounds

# What may stand before a place that leads a sentence: a quote or bracket, a bullet sign ('▲禹州市…'), a
# date, a time word, a short opening clause ('从各地情况看，', '另外，') or a connective.
_LEAD_BODY = (
    r"[|｜]?[“”\"「」]?(?:[【\[〔][^】\]〕]{1,10}[】\]〕])?(?:【|\[|〔|本报讯|本报|新华社)?(?:[（(][^）)]{1,30}[）)])?"
    rf"[▲△●○■□◆◇★☆•·▶►※→]*(?:[❶-❿①-⑳\d{ORDINAL_NUMERALS}]+[、.．)）]?)?"
    r"(?:(?:19|20)\d{2}(?:年)?(?:[—–-]{1,2}|至|到)(?:19|20)\d{2}年[,，]?)?"  # '2022—2024年，'
    r"(?:(?:19|20)\d{2}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?"
    r"(?:(?:近年来|今年以来|今年|去年|以来|近日|日前|目前|另外|此外|同时|与此同时|其中|而|以及|据悉|据了解)[,，、]?"
    r"|(?:截至|截止到?)(?:(?:19|20)\d{2}年|今年|去年|目前)?(?:\d{1,2}月)?(?:底|末|份)?[,，]"
    r"|[^\d，,。；;：:“”‘’《》、]{1,8}[，,]"
    # '省委宣传部日前透露，': who said it, however long its name.
    r"|[^\d，,。；;：:“”‘’《》、]{1,16}(?:透露|介绍|表示|获悉|了解到|通报|显示)[，,]){0,3}"
    # '城市管理方面，2025年阜新市…': the date may come after an opening clause too.
    r"(?:(?:19|20)\d{2}年度?[,，]?)?"
    r"(?:记者)?(?:在|由|据|从|以)?"
    r"(?:(?:与|和|同)[^，,。；;]{1,10}(?:相邻|毗邻|接壤|相连|一江之隔)的)?"
    # '县级市英德市…', '边境口岸城市凭祥市…': what kind of place it is, said before its name.
    r"(?:[^\d，,。；;：:“”‘’《》、]{0,8}?(?:县级市|地级市|城市|名城|古城|省会|首府|老区))?"
)
# A county or city at the head of a sentence is that sentence's own place ('3月2日,成都市武侯区举办…').
TOPIC_LEAD = re.compile(rf"^{_LEAD_BODY}$")
# '全市…', '今年一季度，全市…': a sentence or clause about the whole city, district or province.
_WHOLE_LEAD = re.compile(rf"^{_LEAD_BODY}(?P<scope>全市|全省|全区|全县|我市|我省|我区|我县)")
# A clause of a sentence opened by a place of its own ('…380万元，抚州市…5.2亿元').
# '…，最高的盘锦市达到97.3%': the place singled out of a ranking is the clause's subject.
_CLAUSE_LEAD = re.compile(r"^(?:其中|另外|此外|同时|而|在|以|(?:其中)?(?:最高|最低|最多|最少|最快|最好)的)?$")
# A place that opens a list ('濂溪区、九江经开区、市城管局等5个单位') is one of several, not the topic.
LIST_AFTER = re.compile(r"\s*(?:、|和|与|及)")
# '深圳全市…', '湖南全省…': the place named speaks for its whole.
WHOLE_AFTER = re.compile(r"全(?:市|省|区|县|州|盟|旗)")


def whole_place(compact: str, place: Place | None, section_place: Place | None) -> Place | None:
    """The place '全市/全区/全县/全省' opening `compact` speaks for, seen from `place` and the section's."""
    m = _WHOLE_LEAD.match(compact)
    if m is None:
        return None
    scope = "全" + m.group("scope")[1]  # '我县' speaks for the county as '全县' does
    # '在全省率先…' in a city's report compares the city: it is still the city's figure. Without 在, a
    # district's '全市…' is its city's whole, and a city's '全省…' its province's.
    comparing = compact[: m.start("scope")].endswith("在")
    for candidate in (place, section_place):
        if candidate is None:
            continue
        for level in (candidate, *reversed(candidate.parents)):
            outside = section_place is not None and not level.is_within(section_place)
            if level is not candidate and outside and (comparing or scope not in ("全市", "全省")):
                break
            if scope == "全省" and level.level == "province":
                return level
            if scope == "全市" and (level.level == "prefecture" or level.name.endswith("市")):
                return level
            if scope in ("全区", "全县") and level.level == "county" and level.name.endswith(scope[1]):
                return level
            if scope == "全区" and level.level == "province" and level.name.endswith("自治区"):
                return level  # '全区' in 广西壮族自治区's report is the whole region
    return None


# '全国共有…', '全国已命名…': a figure for the whole country belongs to no city. '全国' naming an honour or
# a rank a city holds ('全国文明城市', '全国道德模范', '全国第一') is not a national scope.
_NATIONAL = re.compile(
    r"(?:全国|全世界|全球)(?!文明|道德|优秀|先进|重点|示范|十佳|百佳|百强|最美|五一|三八|模范|劳动|青年|学雷锋"
    r"|未成年人|志愿|双拥|卫生|园林|环保|森林|绿化|创建|爱国|科普|民族团结|巾帼|工人先锋|红旗|第|前|首|率先|排名"
    r"|人大|政协|妇联|总工会|文明办|层面|性|县级|地级|城市文明)"
)


def national_figures(compact: str, figures: list[Figure]) -> set[int]:
    """Indexes of figures in a clause that speaks for the whole country ('全国共有全国文明城市151个')."""
    result = set()
    for index, figure in enumerate(figures):
        clause_start, _ = clause_bounds(compact, figure.number_start)
        lead = compact[clause_start : figure.start]
        if _NATIONAL.search(lead) or (_NATIONAL.match(compact) and not _WHOLE_LEAD.match(lead)):
            result.add(index)
    return result


def clause_places(
    sentence: Sentence,
    figures: list[Figure],
    resolver: PlaceResolver,
    place: Place | None,
    section_place: Place | None,
) -> dict[int, Place]:
    """Figure index → place for clauses after the first that open on a place of their own."""
    compact = sentence.compact
    position = {text_pos: i for i, text_pos in enumerate(sentence.index)}
    opening: dict[int, Place] = {}  # clause start → its place
    for mention, named in collapse_chains(resolver.in_span(sentence.start, sentence.end)):
        start = position.get(mention.start)
        if start is None or named.level == "province":
            continue
        clause_start, _ = clause_bounds(compact, start)
        if (
            clause_start > 0
            and clause_start not in opening
            and _CLAUSE_LEAD.match(compact[clause_start:start])
        ):
            parent_city = named != section_place and mention.suffixed and named.level == "prefecture"
            names_whole = WHOLE_AFTER.match(resolver.text, mention.end) is not None
            if (
                section_place is not None
                and not names_whole
                and (
                    (section_place.is_within(named) and not parent_city)
                    or LIST_AFTER.match(resolver.text, mention.end)
                )
            ):
                # Its own province, or a list of places: the section's figure. A city written out in full
                # ('苏州市…' on 张家港's page) speaks for itself.
                named = section_place
            opening[clause_start] = named
    for figure in figures:
        clause_start, _ = clause_bounds(compact, figure.number_start)
        if clause_start > 0 and _WHOLE_LEAD.match(compact[clause_start:]) and clause_start not in opening:
            whole = whole_place(compact[clause_start:], place, section_place)
            if whole is not None:
                opening[clause_start] = whole
    result: dict[int, Place] = {}
    for index, figure in enumerate(figures):
        starts = [c for c in opening if c <= figure.number_start]
        if starts:
            chosen = opening[max(starts)]
            if chosen != place:
                result[index] = chosen
    return result


def distributed_places(
    sentence: Sentence, figures: list[Figure], resolver: PlaceResolver
) -> dict[int, Place]:
    """Figure index → place for values shared out over a list of places by 分别."""
    compact = sentence.compact
    if "分别" not in compact:
        return {}
    position = {text_pos: i for i, text_pos in enumerate(sentence.index)}
    named = []
    for mention, place in collapse_chains(resolver.in_span(sentence.start, sentence.end)):
        start, last = position.get(mention.start), position.get(mention.end - 1)
        if start is not None and last is not None:
            named.append((start, last + 1, place))
    return distribute_places(
        compact, [f.number_start for f in figures], named, lambda pos: clause_bounds(compact, pos)[0]
    )


def adjacent_places(sentence: Sentence, figures: list[Figure], resolver: PlaceResolver) -> dict[int, Place]:
    """Figure index → place for a figure written right after a place's name ('浚县2名、淇县1名')."""
    compact, at = sentence.compact, sentence.index
    ends: dict[int, Place] = {}
    for mention, place in collapse_chains(resolver.in_span(sentence.start, sentence.end)):
        last = bisect_left(at, mention.end - 1)  # the compact position of the name's last character
        if last < len(at) and at[last] == mention.end - 1 and place.level != "province":
            ends[last + 1] = place
    return {
        index: ends[figure.start]
        for index, figure in enumerate(figures)
        if figure.start in ends and compact[figure.start : figure.start + 1].isdigit()
    }
