"""`wenming report` pages open in headless Chromium with no network and show their charts.

Screenshots of each page and chart are kept in the test's tmp folder. Runs where Debian's
chromium is installed (CI installs it); skipped, saying so, where it is not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from services.operate.cli import main
from services.store.database import DocumentStore
from tests.support.seeded import seeded_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("WENMING_REQUIRE_BROWSER"),
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]

# Vega's SVG marks: bars and heat-map cells are paths in a rect mark, points paths in a symbol mark.
MARKS = "svg => svg.querySelectorAll('g.mark-rect path, g.mark-symbol path, g.mark-line path').length"


@pytest.fixture(scope="module")
def pages(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Report pages written from the stored seeds, by the command as a user runs it."""
    folder = tmp_path_factory.mktemp("reports")
    written: dict[str, Path] = {}
    with seeded_store(postgres_server_url) as store, pytest.MonkeyPatch.context() as env:
        env.setenv("WENMING_DATABASE_URL", _url(store))
        for name, argv in {
            "volunteers": ["--indicator", "volunteer.registered"],
            "renovation": ["--indicator", "老旧小区改造数量"],
            "overview": [],
        }.items():
            written[name] = folder / f"{name}.html"
            with pytest.raises(SystemExit) as exited:
                main(["report", *argv, "--out", str(written[name])])
            assert exited.value.code == 0
        yield written


def _url(store: DocumentStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser: Any, page_file: Path, screenshots: Path) -> tuple[Any, list[str]]:
    """The page opened offline, every request it made, once its charts are drawn."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-charts=drawn], body[data-charts=failed]", timeout=30_000)
    page.screenshot(path=screenshots / f"{page_file.stem}.png", full_page=True)
    assert page.get_attribute("body", "data-charts") == "drawn", errors
    assert errors == []
    return page, requests


def _visible(image_file: Path) -> tuple[float, int]:
    """Share of pixels that are not background, and how many of them are in colour (not grey)."""
    data = Image.open(image_file).convert("RGB").tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    inked = [p for p in pixels if min(p) < 235]
    coloured = [p for p in inked if max(p) - min(p) > 40]
    return len(inked) / len(pixels), len(coloured)


def _check_chart(page: Any, chart_id: str, screenshots: Path, *, marks: int) -> None:
    assert page.eval_on_selector(f"#{chart_id} svg", MARKS) >= marks
    shot = screenshots / f"{Path(page.url).stem}-{chart_id}.png"
    page.locator(f"#{chart_id}").screenshot(path=shot)
    inked, coloured = _visible(shot)
    assert inked > 0.02 and coloured > 500, (shot, inked, coloured)


@pytest.mark.parametrize(("name", "places", "years"), [("volunteers", 3, False), ("renovation", 4, True)])
def test_an_indicator_page_shows_its_charts_offline(
    pages: dict[str, Path], browser: Any, tmp_path: Path, name: str, places: int, years: bool
) -> None:
    page, requests = _open(browser, pages[name], tmp_path)
    assert [url for url in requests if url != pages[name].as_uri()] == []  # nothing fetched
    _check_chart(page, "chart-places", tmp_path, marks=places)
    if years:
        _check_chart(page, "chart-years", tmp_path, marks=2)
    else:
        assert page.locator("#chart-years").count() == 0
    rows = page.locator("table tbody tr").count()
    highlighted = page.locator("table tbody tr mark").count()
    assert rows >= places and highlighted == rows  # every figure shown in its sentence
    page.context.close()


def test_the_overview_shows_the_coverage_heat_map_offline(
    pages: dict[str, Path], browser: Any, tmp_path: Path
) -> None:
    page, requests = _open(browser, pages["overview"], tmp_path)
    assert [url for url in requests if url != pages["overview"].as_uri()] == []
    _check_chart(page, "chart-coverage", tmp_path, marks=50)
    page.context.close()
