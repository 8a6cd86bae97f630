"""Every seed report wrapped as a web page, a Word file and a PDF reads back to the same text."""

from __future__ import annotations

import html
import io
from pathlib import Path

import docx
import pytest

from services.ingest.readers import read_document
from services.normalize.normalizer import ScriptConverter, normalize_text
from tests.support.reference import SEEDS, SEEDS_DIR

NAV = ("网站导航首页", "新闻中心栏目", "文明创建专栏")
SIDEBAR = ("侧栏推荐链接一", "侧栏推荐链接二")
SCRIPT = "导航脚本内容"
FOOTER = ("版权所有 © 2024 示例网 京ICP备12345678号", "联系电话:010-12345678")
PDF_LINE_WIDTH = 36  # characters per line: paragraphs wrap as they would on a page


@pytest.fixture(scope="module")
def converter() -> ScriptConverter:
    return ScriptConverter()


@pytest.fixture(params=SEEDS, ids=[path.name[:3] for path in SEEDS])
def seed(request: pytest.FixtureRequest) -> str:
    return Path(request.param).read_text(encoding="utf-8")


def web_page(report: str) -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in report.splitlines() if line.strip())
    nav = "".join(f'<li><a href="/{i}">{label}</a></li>' for i, label in enumerate(NAV))
    aside = "".join(f'<li><a href="/s{i}">{label}</a></li>' for i, label in enumerate(SIDEBAR))
    footer = "".join(f"<p>{line}</p>" for line in FOOTER)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>报道</title>
<style>p {{ margin: 0 }}</style><script>var menu = "{SCRIPT}";</script></head>
<body><nav><ul>{nav}</ul></nav>
<div id="content"><article>{paragraphs}</article></div>
<aside><h3>热门文章</h3><ul>{aside}</ul></aside>
<footer>{footer}</footer><script>console.log("{SCRIPT}")</script></body></html>""".encode()


def word_document(report: str) -> bytes:
    document = docx.Document()
    for line in report.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def text_pdf(report: str) -> bytes:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    cidfonts = pytest.importorskip("reportlab.pdfbase.cidfonts")
    pdfmetrics = pytest.importorskip("reportlab.pdfbase.pdfmetrics")
    pdfmetrics.registerFont(cidfonts.UnicodeCIDFont("STSong-Light"))  # built in: no font file needed
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    y = 800
    page.setFont("STSong-Light", 10)
    for line in report.splitlines():
        for start in range(0, len(line), PDF_LINE_WIDTH):
            page.drawString(40, y, line[start : start + PDF_LINE_WIDTH])
            y -= 14
            if y < 40:
                page.showPage()
                page.setFont("STSong-Light", 10)
                y = 800
    page.save()
    return buffer.getvalue()


def test_web_page_gives_the_body_text_without_chrome(seed: str, converter: ScriptConverter) -> None:
    document = read_document(web_page(seed), "report.html")
    text = normalize_text(document.text, converter).text

    assert document.format == "html"
    assert text == normalize_text(seed, converter).text
    for chrome in (*NAV, *SIDEBAR, SCRIPT, *FOOTER):
        assert chrome not in document.text


def test_word_document_gives_the_same_text(seed: str, converter: ScriptConverter) -> None:
    document = read_document(word_document(seed), "report.docx")

    assert document.format == "docx"
    assert normalize_text(document.text, converter).text == normalize_text(seed, converter).text


def test_text_pdf_gives_the_same_text(seed: str, converter: ScriptConverter) -> None:
    document = read_document(text_pdf(seed), "report.pdf")
    text = normalize_text(document.text, converter).text
    expected = normalize_text(seed, converter).text

    assert document.format == "pdf"
    # Lines wrapped at the page width are rejoined. A wrap right after a full stop, or inside a long
    # headline, may stay a line break: every line's text is there, and most lines are whole.
    flat = text.replace("\n", "")
    expected_lines = expected.splitlines()
    assert all(line in flat for line in expected_lines)
    whole = set(text.splitlines())
    assert sum(line in whole for line in expected_lines) >= 0.8 * len(expected_lines)


def test_pdf_rejoins_a_word_broken_across_lines(converter: ScriptConverter) -> None:
    report = (SEEDS_DIR / "002_172b3efedb831a07.txt").read_text(encoding="utf-8")

    text = normalize_text(read_document(text_pdf(report), "report.pdf").text, converter).text

    assert "录入96位典型人物事迹" in text
    assert "推进数字化赋能,指导各地新时代文明实践中心建立文明实践数字化地图" in text
