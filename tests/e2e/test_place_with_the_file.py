"""A place given with the file, as the README shows it: a place folder and a sidecar dropped in the inbox,
figures in Postgres with that place (`place_basis = 'file'`), and the sidecar's source and date."""

from __future__ import annotations

import asyncio
import re
import subprocess
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from faststream import TestApp

from services.extract.app import create_app as create_extract
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.store.app import create_app as create_store
from services.store.schema import sqlalchemy_url
from shared.settings import Settings
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n### A place given with the file\n", 1)[1].split("\n## ", 1)[0]
[DROP] = re.findall(r"^```sh\n(.*?)^```", SECTION, re.MULTILINE | re.DOTALL)
[QUERY] = re.findall(r"^```sql\n(.*?)^```", SECTION, re.MULTILINE | re.DOTALL)

# Neither names its place: 全市, 全县 only.
NOTICE = "今年以来，全市新增注册志愿者1200名，建成新时代文明实践站38个，开展志愿服务活动560场次。\n"
REPORT = "截至目前，全县共建成文明村镇45个、新时代文明实践所12个，注册志愿者3.2万人。\n"
BAD_SIDECAR_REPORT = "全市累计建成新时代文明实践站52个。\n"


def _rows(engine: sa.Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql)).mappings()]


async def test_the_readme_example_gives_figures_the_place_that_came_with_the_file(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.inbox == tmp_path / "inbox"
    (tmp_path / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "report.txt").write_text(REPORT, encoding="utf-8")
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    async with AsyncExitStack() as stack:
        for create in (create_store, create_extract, create_normalize, create_ingest):
            await stack.enter_async_context(TestApp(create(settings)))
        subprocess.run(["bash", "-euo", "pipefail", "-c", DROP], cwd=tmp_path, check=True)
        # Not in the README: a sidecar that cannot be used, beside a file in a place folder.
        (settings.inbox / "老河口市" / "bad.txt.meta.json").write_text("{place: 谷城县", encoding="utf-8")
        (settings.inbox / "老河口市" / "bad.txt").write_text(BAD_SIDECAR_REPORT, encoding="utf-8")
        await eventually(
            lambda: asyncio.to_thread(_rows, engine, "SELECT status FROM ingest_log WHERE stage = 'store'"),
            lambda rows: len(rows) == 3,
            timeout=60,
        )
        figures = _rows(engine, QUERY)
        every_figure = _rows(engine, "SELECT place_basis, place_level FROM metrics")
        summary = _rows(
            engine, "SELECT file_name, place, failures, last_failure FROM document_summary ORDER BY file_name"
        )
        log = _rows(engine, "SELECT file_name, status, stage, reason FROM ingest_log WHERE status = 'failed'")
    engine.dispose()

    notice = {"file_name": "老河口市/notice.txt", "source": None, "published_on": None}
    report = {"file_name": "report.txt", "source": "谷城县文明办", "published_on": date(2024, 3, 1)}
    bad = {"file_name": "老河口市/bad.txt", "source": None, "published_on": None}
    assert figures == [
        *(
            {**report, "city": "襄阳市谷城县", "place_code": "420625", "surface": surface}
            for surface in ("45个", "12个", "3.2万人")
        ),
        {**bad, "city": "老河口市", "place_code": "420682", "surface": "52个"},
        *(
            {**notice, "city": "老河口市", "place_code": "420682", "surface": surface}
            for surface in ("1200名", "38个", "560场次")
        ),
    ]
    assert every_figure == [{"place_basis": "file", "place_level": "county"}] * len(figures)

    # The bad sidecar cost its document nothing but the sidecar's facts, and says so where analysts look.
    [letter] = log
    assert letter["file_name"] == "老河口市/bad.txt.meta.json" and letter["stage"] == "ingest"
    assert "not UTF-8 JSON" in letter["reason"]
    bad_summary = next(row for row in summary if row["file_name"] == "老河口市/bad.txt")
    assert bad_summary["failures"] == 1 and "not UTF-8 JSON" in bad_summary["last_failure"]
    assert all(row["failures"] == 0 for row in summary if row is not bad_summary)

    done, failed = settings.inbox / "done", settings.inbox / "failed"
    assert sorted(str(p.relative_to(done)) for p in done.rglob("*.*")) == [
        "report.txt",
        "report.txt.meta.json",
        "老河口市/bad.txt",
        "老河口市/notice.txt",
    ]
    assert sorted(str(p.relative_to(failed)) for p in failed.rglob("*.*")) == [
        "老河口市/bad.txt.meta.json",
        "老河口市/bad.txt.meta.json.error.txt",
    ]
