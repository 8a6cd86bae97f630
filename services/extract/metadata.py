"""What a page says about itself: title, publication date, source outlet and author."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .dates import find_publication_date
from .sentences import heading_level

_HEAD_LINES = 15
# A line of running text: it ends a sentence or goes on after a comma (a headline may shout: '…出炉啦！').
_BODY_LINE = re.compile(r"。\s*$|[，；].{8,}|^.{60,}$")
# A byline stands near the top; a date further down signs off a notice or a letter.
_BYLINE_LINES = 6
_DATED_MASTHEAD_MAX = 30
_DATE_LINE = re.compile(r"(?:19|20)\d{2}\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[-/.]\d{1,2}[-/.]\d{1,2})")
_SOURCE = re.compile(r"(?:来源|稿源|出处)\s*[:：]\s*(?P<source>[^\s|｜丨]{2,30})")
_AUTHOR = re.compile(
    r"(?:作者|记者|文|编辑)\s*[:：/／]\s*(?P<author>[\u4e00-\u9fff·]{2,4}(?:\s+[\u4e00-\u9fff·]{2,4}){0,3})"
)
_MARK_AUTHOR = re.compile(r"^◎\s*(?P<author>[\u4e00-\u9fff·]{2,4}(?:\s+[\u4e00-\u9fff·]{2,4}){0,3})\s*$")
_NAMES_LINE = re.compile(r"^[\u4e00-\u9fff·]{2,3}(?:\s+[\u4e00-\u9fff·]{2,3}){0,3}$")
_UNKNOWN_AUTHORS = ("佚名", "未知", "本站", "网络")
# Site furniture that is never the title.
_CHROME = re.compile(
    r">>|>|当前(?:所在|位置)|首页|欢迎|网站$|^小字号|^分享|^登录|^注册|频道$|中心$|网$|点击上方|关注我们|发表于"
)


@dataclass(frozen=True)
class PageFacts:
    """The page's own statements about itself."""

    title: str | None
    published_on: date | None
    source: str | None
    author: str | None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


# An official document (公文): the issuing body's line ('…文明办公室', '…文明委文件'), its number, then the
# title '关于…的通报'; its full title is the body's name followed by that line.
_ISSUER = re.compile(
    r"^[\u4e00-\u9fff（）()]{2,40}?(?:办公室|委员会|人民政府|文明办|文明委|宣传部|局|厅)(?:文件)?$"
)
_OFFICIAL_TITLE = re.compile(
    r"^关于.{2,60}的(?:通报|通知|报告|意见|决定|方案|函|公告|通告|纪要|总结|批复|请示|办法|规划|计划)$"
)
_OFFICIAL_HEAD_LINES = 4


def find_title(text: str) -> str | None:
    """The headline: an official document's title, the line right above the byline's date, else the first
    real line."""
    lines = head_lines(text)
    official = _official_title(lines)
    if official is not None:
        return official
    for i, line in enumerate(lines[:_BYLINE_LINES]):
        if _DATE_LINE.search(line) and len(line) <= 80:
            for candidate in reversed(lines[:i]):
                # A numbered heading ('四、下一步工作要求') above a signature date is not the title.
                if not _CHROME.search(candidate) and len(candidate) >= 6 and not heading_level(candidate):
                    return candidate
            break
    # No byline above the title: the page's first real line, unless the page starts mid-text.
    for line in lines or _lines(text)[:1]:
        if _CHROME.search(line) or (_DATE_LINE.search(line) and len(line) <= _DATED_MASTHEAD_MAX):
            continue  # '四川日报 2024年4月2日': the paper and its date, above the title
        if len(line) < 6:
            continue  # an account's or a column's name ('银川文明') above the title
        return line if len(line) <= 80 and "。" not in line else None
    return None


def _official_title(lines: list[str]) -> str | None:
    for i, line in enumerate(lines[:_OFFICIAL_HEAD_LINES]):
        if _OFFICIAL_TITLE.match(line):
            issuer = next((head for head in reversed(lines[:i]) if _ISSUER.match(head)), None)
            if issuer is None:
                return line
            return issuer.removesuffix("文件") + line
    return None


def head_lines(text: str) -> list[str]:
    """The page's lines above its body: a notice's sign-off date or a date in the text is not a byline."""
    head = []
    for line in _lines(text)[:_HEAD_LINES]:
        if _BODY_LINE.search(line):
            break
        head.append(line)
    return head


def find_author(text: str) -> str | None:
    """The byline name(s): '作者：', '记者', '◎ name', or a closing line of names."""
    head = "\n".join(_lines(text)[:_HEAD_LINES])
    for line in _lines(head):
        m = _AUTHOR.search(line) or _MARK_AUTHOR.match(line)
        if m and not m.group("author").startswith(_UNKNOWN_AUTHORS):
            return m.group("author").strip()
    # Signed at the end: the last short line of bare names before the page furniture.
    for line in reversed(_lines(text)[-12:]):
        if _NAMES_LINE.match(line) and " " in line:
            return line
    return None


def find_source(text: str) -> str | None:
    """The outlet named after 来源."""
    m = _SOURCE.search("\n".join(_lines(text)[:_HEAD_LINES]))
    return m.group("source") if m else None


def read_page_facts(text: str) -> PageFacts:
    """Title, publication date, source outlet and author of a normalized page."""
    published = find_publication_date("\n".join(head_lines(text)))
    return PageFacts(find_title(text), published, find_source(text), find_author(text))
