"""分别 shares a list of places out over the values that follow it, one to one."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from services.extract.gazetteer import Level, Place
from services.extract.places import distribute_places

_CITY = Place("杭州市", "prefecture", (), "3301")


def _district(name: str) -> Place:
    level: Level = "county"
    return Place(name, level, (_CITY,), "330100")


def _clause_start(compact: str) -> Callable[[int], int]:
    def clause_of(pos: int) -> int:
        return max(compact.rfind(mark, 0, pos) for mark in "，,：:") + 1

    return clause_of


@pytest.mark.parametrize(
    ("compact", "names", "expected"),
    [
        ("西湖区、拱墅区分别新建公园12个和15个。", ["西湖区", "拱墅区"], {0: "西湖区", 1: "拱墅区"}),
        ("西湖区和拱墅区分别新建公园12个和15个。", ["西湖区", "拱墅区"], {0: "西湖区", 1: "拱墅区"}),
        (
            "全市2万个，其中西湖区、拱墅区分别新增4000个和3500个。",
            ["西湖区", "拱墅区"],
            {1: "西湖区", 2: "拱墅区"},
        ),
        # Counts must agree: two places, three values share nothing out.
        ("西湖区、拱墅区分别新建公园12个、15个和9个。", ["西湖区", "拱墅区"], {}),
        # The places must stand right before 分别, as one list.
        ("西湖区的甲和拱墅区的乙分别新建公园12个和15个。", ["西湖区", "拱墅区"], {}),
        # A single place is no list.
        ("西湖区分别新建公园12个和15个。", ["西湖区"], {}),
    ],
)
def test_distribute_places(compact: str, names: list[str], expected: dict[int, str]) -> None:
    named = [(compact.index(n), compact.index(n) + len(n), _district(n)) for n in names]
    figures = [m.start() for m in re.finditer(r"\d+", compact)]
    clause_of = _clause_start(compact)
    shared = distribute_places(compact, figures, named, clause_of)
    assert {i: p.name for i, p in shared.items()} == expected
