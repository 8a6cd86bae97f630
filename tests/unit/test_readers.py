"""Decoding inbox files: encodings, formats and every kind of unreadable input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from services.ingest.encodings import decode_text
from services.ingest.formats import sniff_format
from services.ingest.readers import DEFAULT_MAX_BYTES, UnreadableDocument, read_document
from tests.support.reference import SEEDS, SEEDS_DIR

TRADITIONAL_SEED = "000_97925862f469dd6c.txt"


def seed_ids() -> list[str]:
    return [path.name[:3] for path in SEEDS]


@pytest.mark.parametrize("seed", SEEDS, ids=seed_ids())
@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
    ],
)
def test_seed_reencoded_decodes_to_the_same_text(seed: Path, codec: str, bom: bytes, expected: str) -> None:
    text = seed.read_text(encoding="utf-8")

    document = read_document(bom + text.encode(codec), seed.name)

    assert document.text == text
    assert document.encoding == expected
    assert document.format == "txt"


def test_traditional_seed_in_big5_decodes_to_the_same_text() -> None:
    text = (SEEDS_DIR / TRADITIONAL_SEED).read_text(encoding="utf-8")

    document = read_document(text.encode("big5"), "report.txt")

    assert (document.text, document.encoding) == (text, "big5")


@pytest.mark.parametrize("seed", SEEDS, ids=seed_ids())
def test_gbk_lines_are_not_taken_for_big5(seed: Path) -> None:
    # Short text is where a plain detector confuses the two: try every line on its own.
    for line in seed.read_text(encoding="utf-8").splitlines():
        if len(line.strip()) < 4:
            continue
        for codec in ("gbk", "big5"):
            try:
                raw = line.encode(codec)
            except UnicodeEncodeError:
                continue
            assert decode_text(raw).text == line, (codec, line)


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("淮北市建成文明实践站438个", "gb2312"),
        ("淮北市建成文明實踐站438個", "big5"),
        ("鞍山市新增就业3.64万人，注册志愿者130万余名。", "gbk"),
        ("“創城”成績單：完成老舊小區改造36個。", "big5"),
        ("实施", "gb18030"),  # valid UTF-8 by accident ("ʵʩ"), yet GB text
    ],
)
def test_short_chinese_text_in_legacy_encodings(text: str, codec: str) -> None:
    assert decode_text(text.encode(codec)).text == text


def test_html_meta_charset_is_honoured() -> None:
    page = '<html><head><meta charset="gbk"></head><body><p>全市建成文明实践站438个。</p></body></html>'

    document = read_document(page.encode("gbk"), "page.htm")

    assert document.format == "html"
    assert document.encoding == "gb18030"
    assert "全市建成文明实践站438个。" in document.text


def test_html_is_sniffed_from_content_whatever_the_name() -> None:
    page = "<!DOCTYPE html><html><body><article><p>全市建成文明实践站438个。</p></article></body></html>"

    assert read_document(page.encode(), "inbox-item.txt").format == "html"


def test_sniff_trusts_bytes_over_extension() -> None:
    assert sniff_format(b"%PDF-1.7\n", "report.txt") == "pdf"
    assert sniff_format("全市建成".encode(), "report.dat") == "txt"


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def _scanned_pdf() -> bytes:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.rect(50, 50, 400, 600, fill=1)  # an image-like page: marks, no text
    page.showPage()
    page.save()
    return buffer.getvalue()


BAD_INPUTS = [
    pytest.param(b"", "report.txt", "empty file", id="empty"),
    pytest.param(b"\n \r\n\t", "report.txt", "no text", id="blank"),
    pytest.param(bytes(range(256)) * 8, "report.bin", "binary content", id="binary-nul"),
    pytest.param(
        "文明".encode() + bytes(range(1, 9)) * 4, "report.txt", "control characters", id="binary-ctrl"
    ),
    pytest.param(
        b"Annual report of the civilisation office.", "report.txt", "no Chinese text", id="no-chinese"
    ),
    pytest.param(b"\x81\x20\xfe\x20" * 50, "report.txt", "no Chinese text", id="undecodable"),
    pytest.param(_zip("xl/workbook.xml"), "figures.xlsx", "Excel workbook", id="xlsx"),
    pytest.param(_zip("ppt/presentation.xml"), "slides.pptx", "PowerPoint", id="pptx"),
    pytest.param(_zip("a.txt", "b.txt"), "reports.zip", "unpack it", id="zip"),
    pytest.param(_zip("word/document.xml"), "broken.docx", "damaged .docx", id="damaged-docx"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.png", "run OCR first", id="png"),
    pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "scan.jpg", "run OCR first", id="jpeg"),
    pytest.param(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.doc", "save it as .docx", id="ole-doc"
    ),
    pytest.param(b"{\\rtf1\\ansi report}", "report.rtf", "RTF", id="rtf"),
    pytest.param(b"\x1f\x8b\x08\x00" + b"\x00" * 16, "reports.gz", "gzip", id="gzip"),
    pytest.param("全市文明实践站".encode(), "report.pdf", "not a PDF", id="named-pdf"),
    pytest.param(b"%PDF-1.4\n%%EOF", "report.pdf", "damaged PDF", id="damaged-pdf"),
]


@pytest.mark.parametrize(("raw", "file_name", "reason"), BAD_INPUTS)
def test_unreadable_input_says_why(raw: bytes, file_name: str, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_document(raw, file_name)

    message = str(caught.value)
    assert reason in message
    assert "\n" not in message


def test_scanned_pdf_says_to_run_ocr() -> None:
    with pytest.raises(UnreadableDocument, match="scanned PDF has no text layer; run OCR first"):
        read_document(_scanned_pdf(), "scan.pdf")


def test_oversize_file_is_refused_before_decoding() -> None:
    with pytest.raises(UnreadableDocument, match="over the 10-byte limit"):
        read_document("全市建成文明实践站438个".encode(), "report.txt", max_bytes=10)
    assert DEFAULT_MAX_BYTES >= 1024 * 1024


NEWS_PAGE = """<!DOCTYPE html><html><head><meta charset="gbk"><title>淮北文明网</title>
<script>var tracker = "统计脚本";</script></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/news">文明创建</a></div>
<div class="breadcrumb">当前位置：首页 &gt; 文明创建 &gt; 正文</div>
<h1>淮北市：为群众创造高品质生活</h1>
<div class="info">发布时间：2024-01-05 来源：安徽文明网 浏览次数：123</div>
<div class="content">
<p>近年来，淮北文明城市创建工作主要做法有：统筹谋划“一盘棋”。将文明城市创建作为经济社会发展的总抓手，每三年出台一套行动方案，每年开展一批专项整治行动。</p>
<p>全民参与“一张网”。全域推进部门联动、地企联动，市、区县、街镇、村居四级联动。6300余支志愿服务队伍、42万名志愿者活跃在创建一线，带动90万市民踊跃参与。</p>
<p>目前，全市建成文明实践中心6个、实践所35个、实践站438个，率先在全省实现全覆盖。</p>
<table><tr><td>指标</td><td>数量</td></tr><tr><td>注册志愿者</td><td>42万名</td></tr></table>
</div>
<div class="footer"><p>版权所有 淮北文明网 皖ICP备12345678号</p><p>联系电话：0561-1234567</p></div>
</body></html>"""


def test_news_page_keeps_headline_date_and_body() -> None:
    from services.normalize.normalizer import ScriptConverter, normalize_text

    document = read_document(NEWS_PAGE.encode("gbk"), "news.html")
    lines = normalize_text(document.text, ScriptConverter()).text.split("\n")

    assert lines[0] == "淮北市：为群众创造高品质生活"
    assert "2024-01-05" in lines[1]
    assert "6300余支志愿服务队伍、42万名志愿者活跃在创建一线，带动90万市民踊跃参与。" in " ".join(lines)
    assert any("注册志愿者" in line and "42万名" in line for line in lines)  # a table row stays one line
    for chrome in ("统计脚本", "当前位置", "版权所有", "ICP备", "联系电话", "淮北文明网"):
        assert not any(chrome in line for line in lines), chrome


def test_utf8_with_a_cut_last_character_is_kept() -> None:
    text = "全市建成文明实践中心6个、实践所35个、实践站438个。注册志愿者42万名"

    document = read_document(text.encode()[:-1], "scraped.txt")

    assert document.encoding == "utf-8"
    assert document.text.startswith("全市建成文明实践中心6个")


def test_a_wrong_meta_charset_is_overruled() -> None:
    page = (
        '<html><head><meta charset="iso-8859-1"></head><body><p>全市建成文明实践站438个。</p></body></html>'
    )

    document = read_document(page.encode("gb18030"), "page.html")

    assert document.encoding == "gb18030"
    assert "全市建成文明实践站438个。" in document.text
