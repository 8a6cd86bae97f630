"""Measure words and units: what kind of quantity they measure and how they scale to base units."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts import Qualifier, UnitKind
from shared.text import CHINESE_DIGITS


@dataclass(frozen=True)
class Unit:
    """A measure word as written, its unit kind, and the factor to the base unit."""

    word: str
    kind: UnitKind
    scale: float = 1.0
    arabic_only: bool = False  # too ambiguous after a Chinese numeral ('三大', '二十大')
    canonical: str = ""  # the measure word as the gold writes it, when spelled otherwise ('㎡' → '平方米')

    @property
    def measure_word(self) -> str:
        """The measure word in its Simplified Chinese form."""
        return self.canonical or self.word


_COUNT_WORDS = (
    *("个", "支", "处", "项", "件", "条", "座", "所", "家", "根", "株", "棵", "辆", "份", "篇", "辑", "套"),
    *("类", "本", "部", "幅", "块", "台", "张", "间", "栋", "幢", "盏", "只", "册", "种", "批", "片"),
    *("艘", "架", "眼", "口", "宗", "例", "起", "组", "队", "面", "枚", "副", "对", "双", "道"),
)

UNITS: tuple[Unit, ...] = (
    # person / household / person-times
    Unit("人次", "person_times"),
    Unit("人", "person"),
    Unit("名", "person"),
    Unit("位", "person"),
    Unit("户次", "times"),
    Unit("户", "household"),
    # times / events
    Unit("场次", "times"),
    Unit("条次", "times"),
    Unit("件次", "times"),
    Unit("批次", "times"),
    Unit("架次", "times"),
    Unit("车次", "times"),  # trips, like 架次 and 场次 ('清运垃圾1200余车次')
    Unit("场", "times"),
    Unit("次", "times"),
    Unit("期", "times"),
    Unit("轮", "times"),
    # money (万元/亿元 arrive as multiplier + 元)
    Unit("元", "money_cny"),
    # percent and percentage points (the size of a change in a rate)
    Unit("个百分点", "percentage_point"),
    Unit("百分点", "percentage_point"),
    Unit("%", "percent"),
    Unit("成", "percent", 10.0),  # '九成以上': tenths
    Unit("％", "percent", canonical="%"),
    # area
    Unit("平方公里", "area_m2", 1e6),
    Unit("平方千米", "area_m2", 1e6),
    Unit("平方米", "area_m2"),
    Unit("平米", "area_m2", canonical="平方米"),
    Unit("㎡", "area_m2", canonical="平方米"),
    Unit("m²", "area_m2", canonical="平方米"),
    Unit("km²", "area_m2", 1e6, canonical="平方公里"),
    Unit("公顷", "area_m2", 1e4),
    Unit("亩", "area_m2", 10000 / 15),  # a fifteenth of a hectare
    # volume (before length: 立方米 ends in 米)
    Unit("立方米", "volume_m3"),
    Unit("m³", "volume_m3", canonical="立方米"),
    # length
    Unit("公里", "length_m", 1e3),
    Unit("km", "length_m", 1e3, canonical="公里"),
    Unit("千米", "length_m", 1e3),
    Unit("米", "length_m"),
    # mass (万吨 arrives as multiplier + 吨)
    Unit("吨", "mass_t"),
    # time spans, ratios, scores
    Unit("小时", "hours"),
    Unit("天", "days"),
    Unit("年", "years"),
    Unit("倍", "multiple"),
    Unit("分", "score", arabic_only=True),
    # compact tiers ('1中心+9所+120站') and category counts
    Unit("大类", "count", arabic_only=True),
    Unit("大", "count", arabic_only=True),
    *(Unit(word, "count") for word in _COUNT_WORDS),
    Unit("车", "count"),  # truckloads ('清运垃圾1200余车')
)

# Longest first so that '人次' wins over '人' and '平方公里' over '公里'.
UNITS_BY_LENGTH: tuple[Unit, ...] = tuple(sorted(UNITS, key=lambda u: -len(u.word)))
UNIT_BY_WORD: dict[str, Unit] = {u.word: u for u in UNITS}
# The same, grouped by first character: a figure tries only the units its next character can begin.
UNITS_BY_FIRST_CHAR: dict[str, tuple[Unit, ...]] = {
    first: tuple(u for u in UNITS_BY_LENGTH if u.word[0] == first) for first in {u.word[0] for u in UNITS}
}
# Units written in Latin letters, which otherwise glue a numeral into a code ('5G', '4A').
LATIN_UNITS: tuple[Unit, ...] = tuple(
    u for u in UNITS_BY_LENGTH if u.word[0].isascii() and u.word[0].isalpha()
)

# Measure words that are only a tier count inside a compact '+' chain ('1中心+9所+120站').
CHAIN_UNITS: dict[str, Unit] = {"中心": Unit("中心", "count"), "站": Unit("站", "count")}

# A measure word followed by one of these is part of a longer word, not a unit ('5分钟', '3年级').
UNIT_BLOCKERS: dict[str, tuple[str, ...]] = {
    "分": ("钟", "之", "局", "院", "队", "会", "别", "类", "成", "配", "析"),
    "成": tuple("为功立果效员本绩交就长熟型不品都了将片群套批人年"),
    "年": ("级", "代", "度", "初", "底", "末", "前", "后", "份", "月", "内", "中", "龄", "轻", "间", "华"),
    "天": ("津", "然", "空", "下", "气", "地", "府"),
    "期": ("间", "刊", "待", "望", "限", "末", "中"),
    "次": ("日", "年", "月", "要", "序", "生"),
    "位": ("于", "列", "置", "次", "数"),
    "名": ("单", "称", "义", "额", "录", "牌", "列", "次", "片", "副"),
    "人": ("民", "大", "员", "口", "才", "物", "性", "生", "格", "类", "们", "群", "家"),
    "个": ("人", "体", "性", "别", "案", "月", "小", "多月", "半", "字"),
    "户": ("籍", "口", "外", "型"),
    "大": ("学", "赛", "会", "道", "街", "型", "厦", "桥", "楼", "力", "幅", "量", "规", "小", "于"),
    "场": ("所", "景", "地", "馆", "面", "合", "长", "站", "区"),
    "部": ("门", "署", "分", "队", "长", "委"),
    "队": ("员", "伍", "长"),
    "道": ("路", "德", "理"),
    "面": ("积", "向", "貌", "上", "前", "对"),
    "口": ("号", "罩", "岸", "碑"),
    "所": ("有", "以", "谓", "属", "在", "长"),
    "家": ("庭", "长", "乡", "园", "属", "居", "门", "族", "政", "务", "电"),
    "台": ("阶", "账", "湾", "风", "州"),
    "起": ("来", "步", "草", "源", "点", "到"),
    "组": ("织", "建", "长", "成", "合"),
    "本": ("地", "土", "市", "区", "县", "次", "身", "着", "领"),
    "片": ("区", "长"),
    "对": ("接", "象", "于", "标", "照", "话"),
    "车": ("辆", "站", "位", "道", "间", "库", "棚", "型", "主", "牌", "厢", "身", "流", "速", "程"),
}

OVER_PREFIXES = ("超过", "超出", "多于", "不少于", "不低于", "高于", "突破", "逾", "超")
APPROX_PREFIXES = ("约为", "大约", "大概", "将近", "接近", "近乎", "约", "近")
UNDER_PREFIXES = ("不到", "不足", "少于", "低于", "不超过", "未满", "未达")
PREFIX_QUALIFIERS: tuple[tuple[str, Qualifier], ...] = tuple(
    sorted(
        [(w, "over") for w in OVER_PREFIXES]
        + [(w, "approx") for w in APPROX_PREFIXES]
        + [(w, "under") for w in UNDER_PREFIXES],
        key=lambda pair: -len(pair[0]),
    )
)
# The same, grouped by last character: a figure tries only the qualifiers that can end just before it.
PREFIX_QUALIFIERS_BY_LAST_CHAR: dict[str, tuple[tuple[str, Qualifier], ...]] = {
    last: tuple(pair for pair in PREFIX_QUALIFIERS if pair[0][-1] == last)
    for last in {word[-1] for word, _ in PREFIX_QUALIFIERS}
}
# A one-character qualifier after these characters is the tail of a word (最近, 节约, 赶超), not a qualifier.
PREFIX_BLOCKERS: dict[str, tuple[str, ...]] = {
    "近": ("最", "附", "靠", "临", "亲", "接", "将", "就", "邻", "贴", "远"),
    "约": tuple("节制预签契公隐简婉相邀履违特誓合集"),  # 条约 is left out: '一条约900米的路' is 'about'
    "超": ("赶", "高", "追"),
    "逾": ("不",),
}

# Between the numeral and the measure word ('5万余个', '30多万'): over.
INFIX_QUALIFIERS: dict[str, Qualifier] = {"余": "over", "多": "over"}

SUFFIX_QUALIFIERS: tuple[tuple[str, Qualifier], ...] = (
    ("以上", "over"),
    ("左右", "approx"),
    ("上下", "approx"),
    ("以下", "under"),
    ("以内", "under"),
)

# A bare count of people with no measure word ('带动18万市民', '参与学生超过30万').
PERSON_NOUNS = (
    "市民",
    "群众",
    "居民",
    "学生",
    "人员",
    "游客",
    "党员",
    "志愿者",
    "职工",
    "村民",
    "青少年",
    "未成年人",
    "儿童",
    "老人",
    "家长",
    "师生",
    "网民",
    "观众",
    "读者",
    "人数",
    "民众",
    "农民",
    "人口",
)

# One Chinese digit with a measure word is a count ('两次', '三所', '六个'); 一 is left out, as it is
# mostly an article ('一个城市', '一支队伍'), and so are kinds where one digit is rarely a figure.
SINGLE_DIGIT_COUNTS = frozenset(CHINESE_DIGITS) - frozenset("零〇一")
SINGLE_DIGIT_KINDS = frozenset({"count", "times", "person", "household", "person_times"})

# Idioms and political slogans whose numerals stand before a measure word but count nothing.
NUMERAL_IDIOMS = (
    *("四面八方", "八面玲珑", "两面三刀", "三番五次", "三五成群", "三天两头", "两全其美", "一举两得"),
    *("五湖四海", "五颜六色", "七上八下", "三令五申", "四平八稳", "五花八门", "三位一体", "五位一体"),
    *("两个确立", "两个维护", "两个毫不动摇", "两个务必", "两个大局", "两个结合", "两个一百年"),
    *("三个代表", "三个务必", "四个意识", "四个自信", "四个全面", "四个服务", "五个一", "五个认同"),
    *("八项规定", "两张皮", "三条线", "两条腿", "三件套", "九个一"),
)
_IDIOM_DIGITS = SINGLE_DIGIT_COUNTS


def in_numeral_idiom(text: str, pos: int) -> bool:
    """Whether the digit at `text[pos]` is part of one of NUMERAL_IDIOMS written around it."""
    for idiom in NUMERAL_IDIOMS:
        for offset, ch in enumerate(idiom):
            if ch == text[pos] and ch in _IDIOM_DIGITS and text.startswith(idiom, pos - offset):
                return True
    return False
