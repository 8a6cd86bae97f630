"""Clean decoded report text without losing track of where each character came from.

Every step maps AlignedText to AlignedText and only deletes or substitutes characters, so the
offsets into the original document survive.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from services.normalize.offsets import AlignedText, Edit
from shared.text import HALF_WIDTH, ORDINAL_NUMERALS

# --- characters -------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_SPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{2,}")
# Full-width digits, Latin letters, ％ and the full-width full stop used as a decimal point;
# Chinese punctuation (，。、“”：) stays as it is.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_SYLLABLES = rf"[a-zü{_TONED}]+(?:[ '’][a-zü{_TONED}]+)*"
_GLOSS = rf"[(（] ?{_PINYIN_SYLLABLES} ?[)）]"
# Readings some converters leave after a character: 國(guó), 区（qū）.
_PINYIN_GLOSSES = re.compile(rf"(?<=[\u3400-\u9fff\uf900-\ufaff])(?:{_GLOSS})+", re.IGNORECASE)
_ONE_GLOSS = re.compile(_GLOSS, re.IGNORECASE)
_TONE_MARK = re.compile(f"[{_TONED}]", re.IGNORECASE)


def unify_line_breaks(aligned: AlignedText) -> AlignedText:
    """CRLF, CR and the other Unicode line separators become \\n; invisible characters go."""
    # \r\n keeps the origin of its \n, so a line's end maps to the original line's end.
    edits = [
        Edit(m.start(), m.end(), "\n", (len(m.group()) - 1,)) for m in _LINE_BREAK.finditer(aligned.text)
    ]
    return aligned.apply(edits).sub(_INVISIBLE, "")


def fold_width(aligned: AlignedText) -> AlignedText:
    """Full-width digits, Latin letters and signs become half-width (the project's one table)."""
    return aligned.translate(HALF_WIDTH)


def drop_pinyin_glosses(aligned: AlignedText) -> AlignedText:
    """Remove pinyin readings in brackets right after a character: 國(guó) → 國."""
    return aligned.apply(
        Edit(match.start(), match.start() + _toned_prefix(match.group()))
        for match in _PINYIN_GLOSSES.finditer(aligned.text)
    )


def _toned_prefix(glosses: str) -> int:
    """Length of the leading glosses that carry tone marks: (guó)(abc) → len("(guó)")."""
    length = 0
    for gloss in _ONE_GLOSS.finditer(glosses):
        if not _TONE_MARK.search(gloss.group()):
            break
        length = gloss.end()
    return length


def collapse_whitespace(aligned: AlignedText) -> AlignedText:
    """One space for any run of spaces inside a line, none at its ends, no blank lines."""
    text = aligned.text
    edits = []
    for match in _SPACE_RUN.finditer(text):
        start, end = match.span()
        at_edge = start == 0 or end == len(text) or text[start - 1] == "\n" or text[end] == "\n"
        replacement = "" if at_edge else " "
        if match.group() != replacement:
            edits.append(Edit(start, end, replacement))
    aligned = aligned.apply(edits)
    return trim_blank_lines(aligned)


def trim_blank_lines(aligned: AlignedText) -> AlignedText:
    """Lines separated by exactly one \\n, none at the start or end (assumes lines are stripped)."""
    aligned = aligned.sub(_BLANK_LINES, "\n")
    text = aligned.text
    edits = []
    if text.startswith("\n"):
        edits.append(Edit(0, 1))
    if text.endswith("\n") and len(text) > 1:
        edits.append(Edit(len(text) - 1, len(text)))
    return aligned.apply(edits)


# --- page chrome ------------------------------------------------------------------------------

_SEPARATOR = r"\s*(?:>>|>|»|›|→|＞＞|＞)\s*"
_CRUMB = r"[^\s。，,；;！？!?>»›→＞]{1,16}"
_NAV_WORDS = (
    "首页|网站首页|返回首页|返回顶部|回到顶部|返回|顶部|打印|打印本页|关闭|关闭窗口|收藏本页|"
    "推荐图文|推荐信息|推荐阅读|推荐新闻|相关阅读|相关新闻|相关文章|相关链接|点击排行|热点排行|热门文章|"
    "关于我们|友情链接|联系我们|网站地图|网站导航|公众号|微信公众号|微博|微信|抖音|快手|头条号|"
    "扫一扫|扫码关注|手机版|登录|注册|评论|发表评论|更多|上一篇|下一篇|分享|分享到"
)
_COUNTER_LABEL = (
    "浏览次数|浏览量|浏览|阅读量|阅读数|阅读|点击数|点击量|点击率|点击|访问量|访问次数|人气|"
    "评论数|评论|点赞|赞|反对|举报|收藏|分享|转发|在看"
)
# Whole lines, matched after Traditional→Simplified and whitespace collapsing.
_CHROME_PATTERNS = (
    # breadcrumbs: 人民网>>安徽频道>>江淮传真, 当前所在:首页 > 栏目 > 正文
    r"(?:当前位置|您的位置|你的位置|当前所在|所在位置|您现在的位置|现在位置)\s*[:：].{0,80}",
    rf"{_CRUMB}(?:{_SEPARATOR}{_CRUMB}){{2,}}",
    rf"首页(?:{_SEPARATOR}{_CRUMB})+",
    rf"[【\[]?(?:{_NAV_WORDS})[】\]]?",
    r"[|｜]+",  # the separator between navigation links, left alone on its line
    r"(?:上一篇|下一篇|上一条|下一条)\s*[:：].{0,60}",
    r"分享(?:到|让更多人看到).{0,20}",
    r"欢迎(?:来到|访问|光临).{1,24}",
    # font size switches: 小字号, 【大 中 小】, 字号：大 中 小
    r"(?:[【\[]?[大中小]字[号体][】\]]?\s*)+",
    r"字[号体]\s*[:：]?\s*(?:[【\[]?[大中小默认]{1,2}[】\]]?\s*){2,4}",
    # view counters: 浏览次数: 123, 阅读 1234, 反对 0 举报 0 收藏 0
    rf"(?:(?:{_COUNTER_LABEL})\s*[:：]?\s*[\d,]+\s*次?\s*[|｜]?\s*)+",
    # editors: (责编:范晓琳、金蕾欣), 责任编辑：张三
    r"[(（【\[]?\s*(?:责任编辑|责编|编辑|审核|审校|校对|终审|初审|复审|值班编辑)\s*[:：].{0,40}",
    # link to the source page
    r"(?:原文链接|原文地址|本文链接|原文网址|链接)\s*[:：]\s*(?:https?://|www\.)\S+",
    r"(?:https?://|www\.)\S+",
    # disclaimers
    r"[\[【(（]?\s*(?:免责声明|版权声明|法律声明|特别声明)\s*[\]】)）:：].{0,300}",
    r"(?:本站|本网|本网站)(?:部分|所有|刊登|转载|发布)?(?:信息|文章|内容|稿件|转载|图片).{0,200}",
    r".{0,120}(?:如有侵权|不代表本(?:站|网)(?:观点|立场)|仅代表作者(?:本人)?观点).{0,120}",
    # copyright and ICP footers (a sentence of report text has a full stop before its end)
    r"[^。]{0,80}(?:版权所有|©|copyright|all rights reserved|ICP备|ICP证|公网安备|网安备|增值电信)"
    r"[^。]{0,80}。?",
    r"[^。，,；;]{0,60}(?:主办|主管|承办|协办|技术支持)(?:单位)?\s*(?:[:：|｜].{0,60}|)",
    # contacts: phone, fax, e-mail, QQ, address
    r"(?:联系电话|电话|联系方式|传真|热线|服务热线|举报电话|投诉电话|监督电话|邮箱|电子邮箱|e-?mail|"
    r"邮编|地址|通讯地址|联系地址|客服|qq|微信号|.{0,4}办公区)\s*[:：].{0,160}",
    r"[^。]{0,100}(?:[\w.+-]+@[\w-]+\.[\w.]+|qq\s*[:：]?\s*\d{5,})[^。]{0,100}",
)
CHROME_LINE = re.compile("|".join(f"(?:{pattern})" for pattern in _CHROME_PATTERNS), re.IGNORECASE)
# A site name (人民网, 科学导报网站) only counts as chrome on the first line: a headline may end in 网 too.
_MASTHEAD = re.compile(r"[^\s。，,；;！？!?：:、]{1,6}(?:网|网站|频道|客户端)")
_CHROME_MAX = 320


def is_chrome(line: str) -> bool:
    """Whether a whole line is page chrome (navigation, counters, footers), never report text."""
    return len(line) <= _CHROME_MAX and CHROME_LINE.fullmatch(line) is not None


def drop_chrome(aligned: AlignedText, *, spare_wrapped: bool = False) -> AlignedText:
    """Delete whole lines of page chrome (expects stripped lines separated by single \\n).

    With `spare_wrapped`, lines as wide as a hard-wrapped page are kept: they may be the first part
    of a footer that only matches once the lines are rejoined.
    """
    text = aligned.text
    lines = text.split("\n")
    wrap = _wrap_width(lines) if spare_wrapped else None
    edits = []
    start = 0
    for number, line in enumerate(lines):
        end = start + len(line)
        spared = wrap is not None and len(line) >= wrap
        if not spared and (is_chrome(line) or (number == 0 and _MASTHEAD.fullmatch(line))):
            edits.append(Edit(start, min(end + 1, len(text))))
        start = end + 1
    return trim_blank_lines(aligned.apply(edits))


# --- broken lines -----------------------------------------------------------------------------

_CLOSED_END = re.compile(r"[。！？!?；;…：:][”’\"'」』）)\]】》]*$")
_SENTENCE_END = re.compile(r"[。！？!?；;…][”’\"'」』）)\]】》]*$")
_CLOSING_START = re.compile(r"[”’」』）)\]】》，,。、；;：:！？!?…]")
# Not 、: it lists titles and places in headlines and bylines too (副部长、主任).
_CLAUSE_PUNCTUATION = re.compile(r"[，,；;。！？!?]")
# Numbered items, bullets, bylines and subtitles open a line of their own.
_LINE_OPENER = re.compile(
    rf"(?:[（(]?[{ORDINAL_NUMERALS}]{{1,3}}[、是）)]|[（(]\d{{1,2}}[）)]|\d{{1,2}}[、）)]|\d{{1,2}}\.(?!\d)"
    rf"|[①-⑳❶-❿➀-➉◎●○■□▲△◆◇★☆•·▪►]|第[{ORDINAL_NUMERALS}百\d]+[章节部分条篇]|——|--)"
)
_CREDIT_TAIL = re.compile(r"[。！？!?]\s+\S{1,12}$")  # "…信息。 刘辉 摄"
_LATIN_WORD_END = re.compile(r"[A-Za-z]$")
_LATIN_WORD_START = re.compile(r"^[A-Za-z]")
_ASCII_RUN_END = re.compile(r"[A-Za-z0-9/._-]$")
_ASCII_RUN_START = re.compile(r"^[A-Za-z0-9]")
_HEADLINE_MAX = 60


@dataclass(frozen=True)
class _Line:
    start: int
    text: str


def rejoin_broken_lines(aligned: AlignedText) -> AlignedText:
    """Join lines broken inside a sentence or a number; keep headlines and paragraphs apart.

    Expects stripped lines separated by single \\n.
    """
    text = aligned.text
    lines = []
    start = 0
    for raw_line in text.split("\n"):
        lines.append(_Line(start, raw_line))
        start += len(raw_line) + 1
    wrap = _wrap_width([line.text for line in lines])
    edits = []
    logical = lines[0].text if lines else ""
    for previous, line in itertools.pairwise(lines):
        if _continues(logical, previous.text, line.text, wrap):
            gap = previous.start + len(previous.text)
            # Words of Latin script broken by a hard line end need their space back; wrapped URLs do not.
            latin = (
                (wrap is None or len(previous.text) < wrap)
                and _LATIN_WORD_END.search(previous.text)
                and _LATIN_WORD_START.search(line.text)
            )
            edits.append(Edit(gap, gap + 1, " " if latin else ""))
            logical += line.text
        else:
            logical = line.text
    return aligned.apply(edits)


def _continues(logical: str, physical: str, following: str, wrap: int | None) -> bool:
    """Whether `following` continues the sentence that the line `physical` (ending `logical`) broke off."""
    if _CLOSING_START.match(following):
        return True  # no line starts with a closing quote or a comma
    if wrap and len(physical) >= wrap:
        # As wide as the page: wrapped, unless it ends a sentence (a line break there loses nothing)
        # or is a headline that happens to be long, followed by another.
        if _SENTENCE_END.search(physical):
            return False
        if _ASCII_RUN_END.search(physical) and _ASCII_RUN_START.search(following):
            return True  # a URL or e-mail address wrapped in the middle
        return not (_headline_like(logical) and _headline_like(following))
    if _CLOSED_END.search(physical) or _CREDIT_TAIL.search(physical):
        return False
    if _LINE_OPENER.match(following) or _headline_like(following):
        return False
    if physical[-1:].isdigit() and following[:1].isdigit():
        # A number cut in two, unless the line closes on a whole date or time (a byline's '2023-03-02').
        return not _DATE_OR_TIME_END.search(physical)
    return not _headline_like(logical)


_DATE_OR_TIME_END = re.compile(r"(?:(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}:\d{2}(?::\d{2})?)$")


def _headline_like(line: str) -> bool:
    """Short and without clause punctuation, or a short numbered item: a headline, byline or label."""
    if len(line) >= _HEADLINE_MAX:
        return False
    return _LINE_OPENER.match(line) is not None or not _CLAUSE_PUNCTUATION.search(line)


def _wrap_width(lines: list[str]) -> int | None:
    """The width at which the text was hard-wrapped (PDF, e-mail), or None for one paragraph a line."""
    lengths = sorted(len(line) for line in lines if line)
    if len(lengths) < 8:
        return None
    best_count, best_width = 0, 0
    low = 0
    for high, width in enumerate(lengths):
        while lengths[low] < 0.85 * width:
            low += 1
        if high - low + 1 >= best_count:
            best_count, best_width = high - low + 1, width
    longer = len(lengths) - bisect.bisect_right(lengths, best_width * 1.15)
    if best_width < 15 or best_count < 0.5 * len(lengths) or longer > 0.1 * len(lengths):
        return None
    return int(0.85 * best_width)
