"""The reading pass: a normalized page as sections, paragraphs and sentences, and the figures in them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.normalize.sections import split_sections
from shared.contracts import Section

from .dates import find_years
from .figures import Figure, find_figures
from .metadata import PageFacts, read_page_facts
from .sentences import Paragraph, Sentence, clause_bounds, forget_clauses, split_paragraphs, split_sentences
from .tables import TableReading, read_table_row

# Page furniture: contact lines and copyright; figures there are not campaign results.
_CHROME = re.compile(
    r"(?:电话|传真|QQ群?|微信号?)\s*[:：]?\s*\d{3,}|邮箱\s*[:：]|E-?mail|版权所有|Copyright|ICP|备案号|免责声明|"
    r"原文链接|https?://|www\.|责编|责任编辑"
)
# Counters under an article ('阅读 3521', '评论(12条)'); only on a short line, where no sentence is.
_COUNTER = re.compile(
    r"(?:反对|举报|收藏|点赞|评论|阅读|浏览|点击|分享|转发|回复|相关新闻)\s*(?:次数|量|数)?\s*[:：(（]?\s*\d"
)
_COUNTER_MAX_LEN = 40
# A byline also closes on a date ('发布时间：2024-04-18'): that line is the page's own, handled elsewhere.
_LINK_DATELINE = re.compile(r"时间|日期|来源|发布|作者|记者")
# A link to another story ('· 某市注册志愿者突破200万人 2024-03-29'): a headline line closing on its date.
_LINK_LINE = re.compile(
    r"^\s*[·•●○◆◇■□▪▶>»\-－*]?\s*[^。！？!?；;]{4,60}?[\s　(（\[]*"
    r"(?:(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)[)）\]]?\s*$"
)
_CHROME_MAX_LEN = 200


@dataclass(frozen=True)
class Page:
    """A normalized page read once: its parts, its own statements, and which section each sentence is in."""

    text: str
    facts: PageFacts
    sections: list[Section]
    paragraphs: list[Paragraph]
    sentences: list[Sentence]
    section_of: list[int]  # section index of each sentence (-1 before the first section)


@dataclass(frozen=True, slots=True)
class Spotted:
    """The figures of one sentence, each with the clause (compact offsets) it stands in."""

    sentence_index: int
    sentence: Sentence
    figures: list[Figure]
    clauses: list[tuple[int, int]]
    signs: dict[int, str] = field(default_factory=dict)  # a table cell's '+'/'-' before figure i
    labels: dict[int, tuple[str, str]] = field(
        default_factory=dict
    )  # what figure i's column counts, its unit


def read_page(text: str, sections: Sequence[Section] = ()) -> Page:
    """Split a normalized page into sections, paragraphs and sentences."""
    # What the passes remember of sentences serves one page: a benchmark of pages built from the same
    # paragraphs must not be faster than reading new ones.
    forget_clauses()
    find_years.cache_clear()
    section_list = list(sections) or split_sections(text)
    paragraphs = split_paragraphs(text)
    sentences = split_sentences(text, paragraphs)
    section_of = []
    index = -1
    for sentence in sentences:
        while index + 1 < len(section_list) and sentence.start >= section_list[index + 1].start:
            index += 1
        section_of.append(index)
    return Page(text, read_page_facts(text), section_list, paragraphs, sentences, section_of)


def spot_figures(page: Page, in_name: Callable[[int, int], bool] | None = None) -> list[Spotted]:
    """Every figure of every sentence that is not page furniture, nor a numeral inside a name (`in_name`
    tells whether a span of the text is inside a place's name: '三台县' holds no figure)."""
    spotted = []
    table = TableReading()
    for index, sentence in enumerate(page.sentences):
        if _is_chrome(page.text, sentence):
            continue
        row = read_table_row(page.text, sentence, table)
        if row is None:
            table = TableReading()  # a line that is not a row ends the table
        figures = row.figures if row is not None else find_figures(sentence.compact)
        if figures and in_name is not None:
            at = sentence.index
            figures = [f for f in figures if not in_name(at[f.start], at[f.end - 1] + 1)]
        if figures:
            clauses = [clause_bounds(sentence.compact, f.number_start) for f in figures]
            signs, labels = (row.signs, row.labels) if row else ({}, {})
            spotted.append(Spotted(index, sentence, figures, clauses, signs, labels))
    return spotted


def _is_chrome(text: str, sentence: Sentence) -> bool:
    """Whether the sentence is page furniture: a counter, a link to another story, a contact line."""
    para = sentence.paragraph
    body = text[para.start : para.end]
    if len(body) <= _COUNTER_MAX_LEN and _COUNTER.search(body):
        return True
    if _LINK_LINE.match(body) and not _LINK_DATELINE.search(body):
        return True
    # A short contact or copyright paragraph; a report sentence ending on '监督电话：…' keeps its figures.
    return len(body) <= _CHROME_MAX_LEN and bool(_CHROME.search(text, sentence.start, sentence.end))
