"""Cleaning and Traditional→Simplified conversion, with the map back to the original."""

from __future__ import annotations

import itertools
import json
import time
import unicodedata
from pathlib import Path

import pytest

from services.normalize.cleaning import is_chrome
from services.normalize.normalizer import NormalizedText, ScriptConverter, normalize_text
from services.normalize.offsets import AlignedText, Edit
from services.normalize.script import HAN
from tests.support.reference import SEED_GOLD, SEEDS

GOLD = SEED_GOLD
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@pytest.fixture(scope="module")
def converter() -> ScriptConverter:
    return ScriptConverter()


def normalize(text: str, converter: ScriptConverter) -> str:
    return normalize_text(text, converter).text


def corresponds(original: str, index: int, char: str, converter: ScriptConverter) -> bool:
    """Whether `char` is original[index], or what cleaning and conversion make of it."""
    source = original[index]
    if char == source or converter.to_simplified(source) == char:
        return True
    if unicodedata.normalize("NFKC", source) == char:
        return True
    if char == "\n":
        return source in LINE_BREAKS
    if char == " ":
        return source.isspace()
    # A phrase converts differently from its characters alone (乾燥 → 干燥).
    window = original[max(0, index - 3) : index + 4]
    return bool(HAN.match(source)) and char in converter.to_simplified(window)


def assert_offsets_hold(original: str, normalized: NormalizedText, converter: ScriptConverter) -> None:
    offsets = normalized.offsets
    assert len(offsets) == len(normalized.text)
    assert all(0 <= offset < len(original) for offset in offsets)
    assert all(a < b for a, b in itertools.pairwise(offsets))
    for i, char in enumerate(normalized.text):
        assert corresponds(original, offsets[i], char, converter), (i, char, original[offsets[i]])


# --- page chrome ------------------------------------------------------------------------------

CHROME = [
    "人民网>>安徽频道>>江淮传真>>地市新闻>>淮北",
    "首页 > 栏目 > 正文",
    "当前所在:首页 > 廉政舆情 > 正文",
    "当前位置：首页 > 新闻动态",
    "您的位置: 首页 » 文明创建",
    "返回顶部",
    "【返回顶部】",
    "分享让更多人看到",
    "分享到：",
    "小字号",
    "大字号 中字号 小字号",
    "字号：大 中 小",
    "浏览次数: 123",
    "阅读 1234",
    "点击数：56 次",
    "反对 0举报 0 收藏 0",
    "(责编:范晓琳、金蕾欣)",
    "责任编辑：张三",
    "欢迎来到廉政法治网!",
    "原文链接:https://lndj.gov.cn/portaluploads/html/info/50012.html",
    "https://www.example.gov.cn/news/123.html",
    "[免责声明] 本文来源于网络转载,仅供学习交流使用,不构成商业目的。版权归原作者所有。",
    "本站部分信息由相应民事主体自行提供,该信息内容的真实性、准确性和合法性应由该民事主体负责。",
    "本网部分转载文章、图片等无法联系到权利人,请相关权利人联系本网站索取稿酬。",
    "北京中农兴业网络技术有限公司主办 | 政讯通-全国政务信息一体化办公室 主管",
    "廉政法治网 lzfz.org.cn 版权所有。",
    "Copyright © 2024 淮北文明网 All Rights Reserved",
    "皖ICP备12345678号-1 皖公网安备 34060202000123号",
    "联系电话:010-56212745、010-53382908,监督电话:18518469856",
    "第一办公区:北京市东城区建国门内大街26号新闻大厦5层",
    "地址：安徽省淮北市相山区人民路1号 邮编：235000",
    "邮箱:qgfzdyzx@163.com  客服QQ:3206414697 通联QQ:1224368922",
    "推荐图文",
    "点击排行",
    "友情链接",
    "公众号",
    "上一篇：淮北市召开文明创建推进会",
]
BODY = [
    "淮北市:为群众创造高品质生活",
    "2024年01月05日10:58 | 来源:安徽文明网",
    "发布时间:2024-04-18 来源: 中共辽宁省委组织部 作者:佚名",
    "   2022-09-23 110",
    "访谈嘉宾",
    "郑 亮:淮北市委宣传部副部长、淮北市文明办主任",
    "主 持 人",
    "秦瑾 姚勇",
    "◎ 闫梦隆",
    "“创城”成绩单",
    "民生温度",
    "一、砥砺奋进,全面吹响文明城市创建亳州号角",
    "本报讯(姚程玉)干净整洁的楼道、内容丰富的墙面、随借随还的图书交流站。",
    "全市阅读量达到1234万人次,浏览次数逐年增长。",
    "实施“我为群众办实事”实践活动,设立联系电话专线,受理群众来电1200余件。",
    "对群众通过人民网留言等反馈问题,及时办理,受理问题110余件,化解90余件。",
    "市文明办主办的“好人评选”活动,共评出好人442人。",
    "每年拿出100万元资金,用于帮扶困难好人和道德模范。",
    "织就公共卫生服务健康网",
]


@pytest.mark.parametrize("line", CHROME)
def test_chrome_line_is_removed(line: str, converter: ScriptConverter) -> None:
    assert is_chrome(" ".join(line.split()))
    text = normalize(f"全市建成实践站438个。\n{line}\n注册志愿者42万名。", converter)
    assert text == "全市建成实践站438个。\n注册志愿者42万名。"


@pytest.mark.parametrize("line", BODY)
def test_body_line_is_kept(line: str, converter: ScriptConverter) -> None:
    assert not is_chrome(" ".join(line.split()))
    text = normalize(f"全市建成实践站438个。\n{line}\n注册志愿者42万名。", converter)
    assert " ".join(line.split()) in text.splitlines()


def test_traditional_chrome_is_removed_after_conversion(converter: ScriptConverter) -> None:
    original = (
        "人民網\n人民網>>安徽頻道>>江淮傳真\n\n淮北市:為群眾創造高品質生活\n小字號\n\n"
        "全市建成實踐站438個。\n分享讓更多人看到\n\n返回頂部"
    )
    assert normalize(original, converter) == "淮北市:为群众创造高品质生活\n全市建成实践站438个。"


def test_site_name_is_chrome_only_on_the_first_line(converter: ScriptConverter) -> None:
    assert normalize("科学导报网站\n\n孝义 为文明创建“打桩”", converter) == "孝义 为文明创建“打桩”"
    text = normalize("织就公共卫生服务健康网\n全市建成实践站438个。", converter)
    assert text.startswith("织就公共卫生服务健康网\n")
    text = normalize("全市建成实践站438个。\n人民网\n注册志愿者42万名。", converter)
    assert "人民网" in text.splitlines()


# --- broken lines -----------------------------------------------------------------------------

PARAGRAPH = (
    "多形式传播好人故事。选树“保定好人”94人、人选“河北好人榜”17人,望都胡鹏松、易县尹新朋荣登"
    "“中国好人榜”。搭建“双争”先进典型库,录入96位典"
)

JOINS = [
    pytest.param(
        f"{PARAGRAPH}\n\n型人物事迹,18名典型人物事迹被选用。", "录入96位典型人物事迹,18名", id="word"
    ),
    pytest.param(
        "推进数字化赋能,指导各地新时代文明\n\n实践中心建立文明实践数字化地图,不断深化。",
        "新时代文明实践中心",
        id="short-clause",
    ),
    pytest.param(
        "2022年以来,海南区积极响应市委、市政府关于推进“一刻钟社区生活圈”建设的决策部署,精准落实乌海市第八次党\n\n代会精神,促进消费升级。",
        "第八次党代会精神",
        id="long-line",
    ),
    pytest.param("累计入选先进典型,全市志愿服务活动达到2.\n8万余场次。", "达到2.8万余场次", id="decimal"),
    pytest.param("累计入选先进典型,全市志愿服务活动达到12\n800场次。", "达到12800场次", id="number"),
    pytest.param(
        "推动市文广旅局与河北大学共同签署协议,莲池区等10个项目获评省首届\n\n新时代文明实践志愿服务项目大赛活动“优秀项目”。",
        "省首届新时代文明实践",
        id="next-line-is-a-short-sentence",
    ),
    pytest.param(
        "他说:“希望通过这次改造,提升幸福感。\n”庄市街道相关负责人说。", "幸福感。”庄市", id="closing-quote"
    ),
]
NON_JOINS = [
    pytest.param(
        "发挥榜样力量 引领文明风尚\n\n莲池救援哥崔敬辉、身残志坚却自强不息走出爱心路。", id="headline"
    ),
    pytest.param("“六大行动”标本兼治\n位于孝义市城西的郑兴公园,1998年建成开放。", id="quoted-headline"),
    pytest.param(
        "一、砥砺奋进,全面吹响文明城市创建亳州号角\n一是对标对表找差距。制定手册。", id="numbered-heading"
    ),
    pytest.param("亳州市文明办2019年度工作情况新闻发布稿\n一、砥砺奋进,全面吹响号角", id="title"),
    pytest.param("◎ 乌文\n\n术提档升级。全面贯彻落实大卫生、大健康理念。", id="byline"),
    pytest.param("——河北保定市推进全国文明城市创建工作综述\n\n◎ 闫梦隆", id="subtitle"),
    pytest.param(
        "150家用人单位提供3000余个就业岗位,吸引求职者咨询岗位信息。 刘辉 摄\n\n"
        "内蒙古乌海市海南区：增进民生福祉 让百姓愿景变幸福实景",
        id="photo-credit",
    ),
    pytest.param("郑 亮:淮北市委宣传部副部长、淮北市文明办主任\n\n主 持 人", id="interview-label"),
    pytest.param("主要做法有：\n统筹谋划“一盘棋”。", id="colon"),
    pytest.param("全市建成实践站438个。\n注册志愿者42万名。", id="sentences"),
    pytest.param("2022-09-23 110\n\n中央文明委下文发布,从8月9日起恢复资格。", id="date-line"),
    pytest.param("多项工作取得成效,主要有以下几个方面\n❶城市功能不断完善。", id="bullet"),
]


@pytest.mark.parametrize(("original", "joined"), JOINS)
def test_line_broken_inside_a_sentence_is_rejoined(
    original: str, joined: str, converter: ScriptConverter
) -> None:
    text = normalize(original, converter)
    assert joined in text
    assert "\n" not in text


@pytest.mark.parametrize("original", NON_JOINS)
def test_headlines_and_paragraphs_stay_apart(original: str, converter: ScriptConverter) -> None:
    text = normalize(original, converter)
    assert text.split("\n") == [" ".join(line.split()) for line in original.split("\n") if line.strip()]


def test_hard_wrapped_text_is_rejoined(converter: ScriptConverter) -> None:
    paragraph = (
        "近年来,淮北文明城市创建工作主要做法有:统筹谋划“一盘棋”。将文明城市创建作为经济社会发展的总抓手,"
        "每三年出台一套行动方案,每年开展一批专项整治行动,办好百件民生实事,添彩城市文明,"
        "实现物质文明和精神文明“双丰收”。"
    )
    wrapped = "\n".join(paragraph[i : i + 20] for i in range(0, len(paragraph), 20))
    original = "\n".join(["淮北市:为群众创造高品质生活", wrapped, wrapped, wrapped])

    lines = normalize(original, converter).split("\n")

    assert lines[0] == "淮北市:为群众创造高品质生活"
    assert "".join(lines[1:]) == paragraph * 3
    assert all(len(line) > 20 for line in lines[1:])


# --- characters -------------------------------------------------------------------------------

PINYIN = [
    ("中國(guó)人民", "中国人民"),
    ("地區（qū）發展", "地区发展"),
    ("綠(lǜ)水青山", "绿水青山"),
    ("長(zhǎng) 大", "长 大"),
    ("文明(wén míng)城市", "文明城市"),
    ("ICP(abc)备", "ICP(abc)备"),
    ("实践站(zhan)建成", "实践站(zhan)建成"),
    ("志愿者(含青年志愿者)", "志愿者(含青年志愿者)"),
    ("2023(qū)", "2023(qū)"),
]


@pytest.mark.parametrize(("original", "expected"), PINYIN)
def test_pinyin_after_a_character_is_dropped(
    original: str, expected: str, converter: ScriptConverter
) -> None:
    assert normalize(original, converter) == expected


WIDTH = [
    ("注册志愿者１３０万余名", "注册志愿者130万余名"),
    ("占比达８５．２％，", "占比达85.2%，"),
    ("５Ｇ基站１７１１个", "5G基站1711个"),
    ("ＡＡＡ级景区ｂ区", "AAA级景区b区"),
    ("“创城”成绩单：一、二。（一）", "“创城”成绩单：一、二。（一）"),
]


@pytest.mark.parametrize(("original", "expected"), WIDTH)
def test_full_width_digits_and_letters_become_half_width(
    original: str, expected: str, converter: ScriptConverter
) -> None:
    assert normalize(original, converter) == expected


WHITESPACE = [
    ("全市\u3000\u3000建成\xa0\xa0实践站\t438个", "全市 建成 实践站 438个"),
    ("  播下“文明种”。\xa0\xa0  ", "播下“文明种”。"),
    ("第一段。\r\n\r\n\r\n第二段。\r第三段。", "第一段。\n第二段。\n第三段。"),
    ("第一段。\u2028第二段。\u200b", "第一段。\n第二段。"),
    ("\n\n\n标题\n\n\n", "标题"),
]


@pytest.mark.parametrize(("original", "expected"), WHITESPACE)
def test_whitespace_is_one_kind(original: str, expected: str, converter: ScriptConverter) -> None:
    assert normalize(original, converter) == expected


# --- script and offsets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "script"),
    [
        ("淮北市:為群眾創造高品質生活", "traditional"),
        ("淮北市:为群众创造高品质生活", "simplified"),
        ("abc", "simplified"),
    ],
)
def test_script_is_detected(original: str, script: str, converter: ScriptConverter) -> None:
    assert normalize_text(original, converter).script == script


def test_traditional_offsets_point_at_the_traditional_characters(converter: ScriptConverter) -> None:
    original = "人民網\n\n淮北市:為群眾創造高品質生活\n\n6300余支志願服務隊伍、42萬名志願者活躍在創建一線"
    normalized = normalize_text(original, converter)

    start = normalized.text.index("42万名")
    span = normalized.offsets[start], normalized.offsets[start + 3]
    assert original[span[0] : span[1] + 1] == "42萬名"
    assert original[normalized.offsets[normalized.text.index("为")]] == "為"
    assert_offsets_hold(original, normalized, converter)


def test_offsets_survive_every_deletion(converter: ScriptConverter) -> None:
    original = (
        "首页 > 栏目 > 正文\r\n\r\n  中國(guó)建成　实践站４３８個,录入96位典\n\n型人物事迹。\n\n返回顶部"
    )
    normalized = normalize_text(original, converter)

    assert normalized.text == "中国建成 实践站438个,录入96位典型人物事迹。"
    assert_offsets_hold(original, normalized, converter)
    surface = normalized.text.index("典型")
    assert original[normalized.offsets[surface] : normalized.offsets[surface + 1] + 1] == "典\n\n型"


def test_conversion_that_changes_length_keeps_offsets_in_order() -> None:
    def shrink(text: str) -> str:  # a stand-in for a phrase that converts to fewer characters
        return text.replace("甲乙丙", "丁")

    from services.normalize.script import convert_aligned

    conversion = convert_aligned(AlignedText.of("一甲乙丙二"), shrink)
    assert conversion.aligned.text == "一丁二"
    assert tuple(conversion.aligned.offsets) == (0, 1, 4)

    def grow(text: str) -> str:
        return text.replace("甲", "丁戊")

    grown = convert_aligned(AlignedText.of("一甲二"), grow).aligned
    assert len(grown.text) == 3
    assert tuple(grown.offsets) == (0, 1, 2)


def test_edit_may_not_grow_the_text() -> None:
    with pytest.raises(ValueError, match="longer"):
        AlignedText.of("ab").apply([Edit(0, 1, "xy")])


@pytest.mark.parametrize("seed", SEEDS, ids=[path.name[:3] for path in SEEDS])
def test_seed_offsets_map_back_into_the_original(seed: Path, converter: ScriptConverter) -> None:
    original = seed.read_text(encoding="utf-8")
    normalized = normalize_text(original, converter)

    assert_offsets_hold(original, normalized, converter)
    assert normalized.script == ("traditional" if seed.name.startswith("000") else "simplified")
    assert "\n\n" not in normalized.text
    assert normalized.text == normalized.text.strip()
    assert normalize(normalized.text, converter) == normalized.text  # already clean stays as it is


def test_no_gold_figure_is_lost(converter: ScriptConverter) -> None:
    assert GOLD is not None and GOLD.is_file()
    kept: dict[str, set[int]] = {}
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        figure = json.loads(line)
        original = (GOLD.parent.parent / "seeds" / figure["doc"]).read_text(encoding="utf-8")
        if figure["doc"] not in kept:
            kept[figure["doc"]] = set(normalize_text(original, converter).offsets)
        start = -1
        for _ in range(figure["occurrence"]):
            start = original.index(figure["surface"], start + 1)
        span = range(start, start + len(figure["surface"]))
        assert all(i in kept[figure["doc"]] for i in span if not original[i].isspace()), figure


def test_seed_chrome_is_gone_and_body_stays(converter: ScriptConverter) -> None:
    texts = {path.name[:3]: normalize(path.read_text(encoding="utf-8"), converter) for path in SEEDS}

    for gone in ("人民网", "小字号", "分享让更多人看到", "返回顶部", "责编"):
        assert gone not in texts["000"].splitlines()
        assert not any(line.startswith(gone) for line in texts["000"].splitlines())
    for gone in ("当前所在", "免责声明", "版权所有", "联系电话", "qgfzdyzx@163.com", "欢迎来到"):
        assert gone not in texts["001"]
    for gone in ("科学导报网站", "反对 0", "推荐图文", "抖音"):
        assert gone not in texts["004"]
    assert "6300余支志愿服务队伍、42万名志愿者活跃在创建一线" in texts["000"]
    assert "录入96位典型人物事迹,18名典型人物事迹" in texts["002"]
    assert "第八次党代会精神" in texts["002"]
    assert "开展“拉网式”走访,依托主题党日" in texts["002"]
    assert texts["003"].split("\n")[:3] == [
        "亳州市文明办2019年度工作情况新闻发布稿",
        "一、砥砺奋进,全面吹响文明城市创建亳州号角",
        texts["003"].split("\n")[2],
    ]
    assert texts["004"].endswith("秦瑾 姚勇")


def test_five_seeds_normalize_well_under_a_second(converter: ScriptConverter) -> None:
    originals = [path.read_text(encoding="utf-8") for path in SEEDS]
    started = time.perf_counter()
    for original in originals:
        normalize_text(original, converter)
    assert time.perf_counter() - started < 0.5
