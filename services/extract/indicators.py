"""The indicator pass: which catalog indicator each figure measures, from the words of its own clause."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from shared.contracts import Change

from .catalog import CLOSING_QUOTES, DROP_QUOTES, QUOTE_FOLD, QUOTE_MARKS, Indicator, Match, anchor_of
from .figures import Figure, find_figures
from .lexicon import Lexicon
from .modifiers import modifier_changes_meaning
from .page import Spotted
from .phrases import PhraseIndex
from .sentences import clause_bounds, segment_bounds

_QUOTE_MARK = re.compile(f"[{QUOTE_MARKS}]")


class IndicatorMatcher:
    """Chooses, for each figure of a sentence, the catalog indicator its wording names, or None."""

    # Rates per area or per head, and norms per unit ('每个社区配备4—6人'), are not the totals the catalog
    # counts.
    _PER_UNIT = r"密度|人均|每平方|每万人|每千人|每百人|占比|每(?:个|名|位|户|处|所|家|条)"
    _DENSITY = re.compile(_PER_UNIT + "|平均")
    # The average of a rate is still that rate ('满意率平均为92.6%').
    _PERCENT_DENSITY = re.compile(_PER_UNIT)

    def __init__(self, indicators: list[Indicator], lexicon: Lexicon | None = None) -> None:
        self.indicators = indicators
        # Every pattern in catalog order, so that hits keep the order a scan of the catalog gives.
        self._patterns = [(trigger, pattern, ind) for ind in indicators for trigger, pattern in ind.patterns]
        anchors = [anchor_of(trigger) for trigger, _, _ in self._patterns]
        self._anchor_phrases = PhraseIndex((anchor, rank) for rank, anchor in enumerate(anchors))
        self._unanchored = [rank for rank, anchor in enumerate(anchors) if not anchor]
        self._lexicon = lexicon = lexicon or Lexicon()
        self._by_code = {ind.code: ind for ind in indicators}
        # A catalog phrase reworded, with words in between ('空气质量达到优良等级的天数' for
        # '空气质量优良天数'), is found by its words, in order, inside one clause.
        self._keyword_words = {
            kw: tuple(w for w in lexicon.cut(kw) if w not in _FUNCTION_WORDS)
            for ind in indicators
            for kw in ind.keywords
        }
        self._keywords: list[tuple[str, Indicator]] = sorted(
            ((kw, ind) for ind in indicators for kw in ind.keywords), key=lambda pair: -len(pair[0])
        )
        self._bare_keywords = [kw.translate(DROP_QUOTES) for kw, _ in self._keywords]
        # Keywords are found in one pass over a sentence by Aho-Corasick automata, not a search each.
        self._keyword_phrases = PhraseIndex((kw, rank) for rank, (kw, _) in enumerate(self._keywords))
        self._bare_phrases = PhraseIndex((kw, rank) for rank, kw in enumerate(self._bare_keywords))
        self._keyword_word_sets = [frozenset(self._keyword_words[kw]) for kw, _ in self._keywords]
        self._words = PhraseIndex((word, word) for words in self._keyword_words.values() for word in words)
        self._first_words = PhraseIndex(
            (words[0], rank)
            for rank, (kw, _) in enumerate(self._keywords)
            if len(words := self._keyword_words[kw]) >= 2 and len(words[0]) >= 2
        )

    def match_spotted(self, spot: Spotted, changes: list[Change | None]) -> list[Match | None]:
        """Indicator of each figure of a spotted sentence; `changes[i]` says figure i is a change's size."""
        compact = spot.sentence.compact

        def elliptical(i: int) -> bool:
            return _lacks_noun(compact, spot.figures[i], spot.clauses[i], spot.figures, self._lexicon)

        matches = self.match_sentence(compact, spot.figures, spot.clauses, elliptical)
        for i, label in spot.labels.items():
            matches[i] = matches[i] or self._match_label(label)
        for i in range(len(matches)):
            excluded: set[str] = set()
            while (match := matches[i]) is not None and not self._fits(spot, i, changes[i], match):
                # '最美志愿者20名': not the registered volunteers its noun names; the next evidence may fit.
                excluded.add(match.code)
                (matches[i],) = self.match_sentence(
                    compact, spot.figures, spot.clauses, elliptical, excluded=frozenset(excluded), only=i
                )
        return matches

    def _fits(self, spot: Spotted, i: int, change: Change | None, match: Match) -> bool:
        """Whether the indicator a figure's words name can be what the figure measures."""
        indicator = self._by_code[match.code]
        # The size of a change ('增加了3万人', '+7.8%') is not the level an indicator measures, and a level
        # ('提高到每月780元') is not the size an indicator of increases measures.
        if (change is not None) != indicator.measures_change:
            return False
        return not modifier_changes_meaning(
            spot.sentence.compact, spot.clauses[i], spot.figures[i], indicator, match.trigger
        )

    def _match_label(self, label: tuple[str, str]) -> Match | None:
        """The indicator a table column's header names ('注册志愿者（万人）'), read as '注册志愿者1万人'."""
        name, unit = label
        phrase = f"{name}1{unit}"
        stated = [f for f in find_figures(phrase) if f.number_start == len(name)]
        if not stated:
            return None
        (match,) = self.match_sentence(phrase, stated, [clause_bounds(phrase, len(name))], [False])
        return match

    def match_sentence(
        self,
        compact: str,
        figures: list[Figure],
        clauses: list[tuple[int, int]],
        elliptical: Callable[[int], bool] | list[bool],
        *,
        excluded: frozenset[str] = frozenset(),
        only: int | None = None,
    ) -> list[Match | None]:
        """Indicator of each figure; `clauses[i]` is figure i's clause, `elliptical(i)` whether it lacks a
        noun (asked only when the clause itself names nothing: tagging words costs)."""
        lacks_noun = elliptical if callable(elliptical) else elliptical.__getitem__
        compact = compact.translate(QUOTE_FOLD)  # same length: offsets of figures still hold
        pattern_hits = self._pattern_hits(compact)
        occurrences, reworded = self._keyword_occurrences(compact)
        if excluded:
            pattern_hits = {
                pos: [h for h in hits if h[1].code not in excluded] for pos, hits in pattern_hits.items()
            }
            occurrences = [o for o in occurrences if o[3].code not in excluded]
            reworded = [o for o in reworded if o[3].code not in excluded]
        results: list[Match | None] = []
        for i, fig in enumerate(figures):
            if only is not None and i != only:
                continue
            args = (compact, fig, figures, clauses[i])
            # A clause borrows the noun of the one before only when it names none; a phrase found by its
            # words alone counts only where no phrase stands as the catalog writes it.
            match = self._match_figure(*args, False, pattern_hits, occurrences)
            if match is None:
                # Tagging the clause's words costs: only when a borrowed noun would name an indicator.
                borrowed = self._match_figure(*args, True, pattern_hits, occurrences)
                match = borrowed if borrowed is not None and lacks_noun(i) else None
            results.append(match or self._match_figure(*args, False, pattern_hits, reworded, own_clause=True))
        return results

    def _keyword_occurrences(
        self, compact: str
    ) -> tuple[list[tuple[int, int, str, Indicator]], list[tuple[int, int, str, Indicator]]]:
        """Every keyword occurrence as (start, end, keyword, indicator), also across quote marks, and the
        reworded ones of keywords that do not stand as written.

        A quoted name inside a phrase ('开展“红色宣讲”活动', '整治“空中蜘蛛网”线缆') still says the phrase.
        """
        quoted = _QUOTE_MARK.search(compact) is not None
        kept: list[int] = []  # offsets of the characters that are not quote marks
        if quoted:
            run_start = 0
            for mark in _QUOTE_MARK.finditer(compact):
                kept.extend(range(run_start, mark.start()))
                run_start = mark.end()
            kept.extend(range(run_start, len(compact)))
        bare = compact.translate(DROP_QUOTES) if quoted else ""
        # (rank of the keyword, written as is?, start, end): one pass of the automaton over each form.
        hits: list[tuple[int, int, int, int]] = []
        for start, end, ranks in self._keyword_phrases.find_all(compact):
            for rank in ranks:
                hits.append((rank, 0, start, end))
        if quoted:
            for bare_start, bare_end, ranks in self._bare_phrases.find_all(bare):
                for rank in ranks:
                    kw = self._keywords[rank][0]
                    start, end = kept[bare_start], kept[bare_end - 1] + 1
                    # '各级“好人”党代表': a phrase ending on a quoted word modifying what follows is not it.
                    if self._bare_keywords[rank] != kw or compact[end : end + 1] not in CLOSING_QUOTES:
                        hits.append((rank, 1, start, end))
        hits.sort()  # keyword by keyword, longest first, as written before across quotes, left to right
        found: dict[tuple[int, int, str, str], Indicator] = {}
        written = set()
        for rank, across_quotes, start, end in hits:
            kw, ind = self._keywords[rank]
            found.setdefault((start, end, kw, ind.code), ind)
            if not across_quotes:
                written.add(rank)
        reworded: list[tuple[int, int, str, Indicator]] = []
        # A reworded phrase needs every one of its words somewhere in the sentence: a set test rules most out.
        present = {words[0] for _, _, words in self._words.find_all(compact)}
        candidates = sorted(
            {
                rank
                for _, _, ranks in self._first_words.find_all(compact)
                for rank in ranks
                if self._keyword_word_sets[rank] <= present
            }
            - written
        )
        for rank in candidates:
            kw, ind = self._keywords[rank]
            reworded.extend((start, end, kw, ind) for start, end in _worded(compact, self._keyword_words[kw]))
        return [(start, end, kw, ind) for (start, end, kw, _), ind in found.items()], reworded

    def _pattern_hits(self, compact: str) -> dict[int, list[tuple[str, Indicator]]]:
        hits: dict[int, list[tuple[str, Indicator]]] = {}
        # Only the patterns whose longest literal piece the sentence holds can match: found in one pass.
        present = {rank for _, _, ranks in self._anchor_phrases.find_all(compact) for rank in ranks}
        present.update(self._unanchored)
        for rank in sorted(present):
            trigger, pattern, ind = self._patterns[rank]
            for m in pattern.finditer(compact):
                for name, value in m.groupdict().items():
                    if value is not None and name.startswith("n"):
                        hits.setdefault(m.start(name), []).append((trigger, ind))
        return hits

    def _match_figure(
        self,
        compact: str,
        fig: Figure,
        figures: list[Figure],
        clause: tuple[int, int],
        elliptical: bool,
        pattern_hits: dict[int, list[tuple[str, Indicator]]],
        occurrences: list[tuple[int, int, str, Indicator]],
        *,
        own_clause: bool = False,
    ) -> Match | None:
        """The best evidence for a figure; with `own_clause`, only evidence inside its own clause counts."""
        c_start, c_end = clause
        density = self._PERCENT_DENSITY if fig.unit_kind == "percent" else self._DENSITY
        if density.search(compact, c_start, c_end):
            return None
        # '优良天数332天，同比增加9天': a change on last year is not the level an indicator measures.
        change_only = bool(_YEAR_ON_YEAR.search(compact[c_start : fig.start]))
        best: Match | None = None
        for trigger, ind in pattern_hits.get(fig.number_start, []):
            if change_only and not ind.measures_change:
                continue
            if ind.accepts(fig.unit_kind, fig.measure_word):
                # The more literal text a pattern pins down, the surer it is; a wildcard pins little.
                literal = len(trigger.replace("{N}", "").replace("…", "").replace("X", ""))
                candidate = Match(ind.code, trigger, 1000.0 + literal)
                if best is None or candidate.score > best.score:
                    best = candidate
        if best is not None:
            return best
        s_start, s_end = segment_bounds(compact, fig.number_start, c_start, c_end)
        for k_start, k_end, kw, ind in occurrences:
            if not ind.accepts(fig.unit_kind, fig.measure_word) or (change_only and not ind.measures_change):
                continue
            if k_start < fig.end and k_end > fig.start:
                continue
            if k_end <= fig.start and _is_means(compact, k_start, k_end, fig.start):
                continue
            if s_start <= k_start and k_end <= s_end:
                tier = 3
            elif c_start <= k_start and k_end <= c_end:
                tier = 2
            elif elliptical and k_end <= c_start and not own_clause:
                tier = 1
            else:
                continue
            if k_end <= fig.start:
                gap = compact[k_end : fig.start]
                if _in_closed_list(compact, k_start, k_end, fig.start, c_start):
                    continue
                distance = len(gap)
            else:
                gap = compact[fig.unit_end : k_start]
                distance = len(gap)
            # An elliptical clause borrows across the figure its antecedent clause already holds.
            if tier > 1 and _figure_between(figures, fig, k_start, k_end, compact):
                continue
            if tier == 2 and _owned_by_later_item(compact, figures, fig, k_start, c_end):
                continue
            score = tier * 100 + min(len(kw), 10) * 3 - min(distance, 40) * 0.8
            if best is None or score > best.score:
                best = Match(ind.code, kw, score)
        return best


_NOUN_FLAGS = ("n", "an", "j")  # a verbal noun (启动) alone does not name a subject


def _lacks_noun(
    compact: str, figure: Figure, clause: tuple[int, int], figures: list[Figure], lexicon: Lexicon
) -> bool:
    """An elliptical clause ('今年先期启动25个') borrows its subject from the clause before."""
    # The clause's other figures ('…4300个和3800个') are values, not the counted noun.
    kept = [
        ch
        for i, ch in enumerate(compact[clause[0] : clause[1]], start=clause[0])
        if not any(f.start <= i < f.end for f in figures)
    ]
    rest = re.sub(r"[\d.%，,。；;、]", "", "".join(kept))
    if not rest:
        return True
    # Names of people and places ('其中奎文区、潍城区分别新增4300个') say who, not what is counted.
    return not any(
        flag.startswith(_NOUN_FLAGS) for _, flag in lexicon.tagged(rest) if flag not in ("nr", "ns")
    )


_FUNCTION_WORDS = frozenset({"的", "和", "与", "及", "、", "“", "”", "等", "了"})
_WORD_GAP = 6
_CLAUSE_BREAK_CHARS = frozenset('，,。；;：:！？!?“”‘’《》"')


def _worded(compact: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans where `words` stand in order, a few characters apart at most, inside one clause."""
    if len(words) < 2 or len(words[0]) < 2:
        return []
    spans = []
    pos = compact.find(words[0])
    while pos >= 0:
        end = pos + len(words[0])
        for word in words[1:]:
            nxt = compact.find(word, end, end + _WORD_GAP + len(word))
            if nxt < 0 or any(ch in _CLAUSE_BREAK_CHARS for ch in compact[end:nxt]):
                break
            end = nxt + len(word)
        else:
            if compact[end : end + 1] not in CLOSING_QUOTES:  # '“好人”党代表': a quoted modifier
                spans.append((pos, end))
        pos = compact.find(words[0], pos + 1)
    return spans


def _is_means(compact: str, k_start: int, k_end: int, fig_start: int) -> bool:
    """A keyword governed by '依托…' with a verb and its own object before the figure is the means."""
    lead = re.split(r"[，,、；;：:]", compact[max(0, k_start - 8) : k_start])[-1]
    if not any(word in lead for word in _MEANS):
        return False
    return bool(_OWN_OBJECT.search(compact, k_end, fig_start))


_OWN_OBJECT = re.compile(r"(?:开设|设立|建成|建设|组建|打造|开展|举办|推出|培育|成立)[^，,。；;]{2,}")


def _in_closed_list(compact: str, k_start: int, k_end: int, fig_start: int, clause_start: int) -> bool:
    """A keyword that is one item of an 'A、B、C等' list counts a mixed bag, not itself."""
    gap = compact[k_end:fig_start]
    if "等" not in gap:
        return False
    list_end = k_end + gap.index("等")
    return "、" in compact[clause_start:list_end]


# A change on the year before, written right before its figure ('同比增加9天', '较上年提高2个百分点').
_YEAR_ON_YEAR = re.compile(
    r"(?:同比|比上年|较上年|比去年|较去年|比前年|较前年|较年初|比年初)(?:同期)?"
    r"(?:净增|净减|增加|提高|增长|上升|减少|下降|降低)?了?$"
)
_RANGE_JOINTS = ("至", "到", "—", "——", "-", "~", "～")
_CELL_JOINTS = ("|", "｜", "||")
# '依托新时代文明实践所开设“四点半课堂”126个': a keyword after these is the means, not what is counted.
_MEANS = ("依托", "依靠", "借助", "利用", "通过", "围绕", "结合")
# '满意率由88.5%提升到2023年的95.2%': the two ends of a change measure the same thing.
_CHANGE_JOINT = re.compile(
    r"^(?:提升|提高|增加|增长|上升|下降|降低|减少|缩减)?(?:到|至|为)(?:(?:19|20)\d{2}年(?:底|末)?的?)?$"
)


def _owned_by_later_item(compact: str, figures: list[Figure], fig: Figure, k_start: int, c_end: int) -> bool:
    """A keyword in a later 、 item holding its own figure is that item's ('停车场31个、停车泊位9600个')."""
    if k_start < fig.end or "、" not in compact[fig.end : k_start]:
        return False
    item_end = compact.find("、", k_start)
    item_end = c_end if item_end < 0 else min(item_end, c_end)
    return any(other is not fig and k_start < other.start < item_end for other in figures)


def _coordinated(run: list[Figure], compact: str) -> bool:
    """Whether consecutive figures are joined only by '、', '和', '与' and the like."""
    return all(compact[a.end : b.start] in ("和", "与", "及", "、", "或", "以及") for a, b in pairwise(run))


def _figure_between(figures: list[Figure], fig: Figure, k_start: int, k_end: int, compact: str) -> bool:
    """A keyword separated from the figure by another figure belongs to that one ('A 3个、B 5个')."""
    lo, hi = (k_end, fig.start) if k_end <= fig.start else (fig.end, k_start)
    between = [other for other in figures if other is not fig and lo <= other.start and other.end <= hi]
    if between and k_end <= fig.start and _coordinated([*between, fig], compact):
        return False  # '新建城市书房5座、3座和2座': a run of coordinated values shares the noun before it
    for other in between:
        # Coordinated values share their subject: '分别提高20元和35元', '4%和6%'.
        joint = compact[other.end : fig.start] if other.end <= fig.start else compact[fig.end : other.start]
        if (
            joint in ("和", "与", "及", "、", "或", "和近") or _CHANGE_JOINT.match(joint)
        ) and k_end <= fig.start:
            continue
        if joint in _RANGE_JOINTS:
            continue  # '20—30名志愿者': the bounds of a range share their noun, before or after
        if joint in _CELL_JOINTS and k_end <= fig.start:
            continue  # 'row label | 41.2% | 42.6%': the cells of a table row share the row's label
        return True
    return False
