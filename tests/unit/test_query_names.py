"""Names as analysts type them: short places, indicator codes, groups and Chinese names."""

from __future__ import annotations

import pytest

from services.query.names import Indicator, match_indicators, match_places

PLACES = ["保定市", "保定市莲池区", "乌海市海南区", "海南省", "淮北市", "宁波市镇海区"]
CATALOG = [
    Indicator("volunteer.registered", "注册志愿者人数", "Registered volunteers", "person"),
    Indicator("volunteer.teams", "志愿服务队伍（组织）数", "Volunteer teams", "count"),
    Indicator("practice.stations", "新时代文明实践站数量", "Civilization practice stations", "count"),
    Indicator("practice.centers", "新时代文明实践中心数量", "Civilization practice centers", "count"),
]


@pytest.mark.parametrize(
    ("name", "places"),
    [
        ("保定市", ["保定市"]),  # exact, not its districts
        ("保定", ["保定市"]),  # + 市, before 保定市莲池区 which merely starts so
        ("海南", ["海南省"]),  # + 省 before 乌海市海南区 which contains it
        ("海南区", ["乌海市海南区"]),
        ("镇海", ["宁波市镇海区"]),
        ("淮北 ", ["淮北市"]),
        ("广州", []),
        ("", []),
    ],
)
def test_a_short_place_name_finds_the_place(name: str, places: list[str]) -> None:
    assert match_places(name, PLACES) == places


def test_a_prefix_finds_every_place_it_starts() -> None:
    assert match_places("乌海市", ["乌海市海南区", "乌海市乌达区"]) == ["乌海市海南区", "乌海市乌达区"]


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("volunteer.registered", ["volunteer.registered"]),
        ("Volunteer.Registered", ["volunteer.registered"]),
        ("注册志愿者人数", ["volunteer.registered"]),
        ("注册志愿者", ["volunteer.registered"]),
        ("registered volunteers", ["volunteer.registered"]),
        ("volunteer", ["volunteer.registered", "volunteer.teams"]),  # a group
        ("practice.", ["practice.stations", "practice.centers"]),  # in the catalog's order
        ("实践站", ["practice.stations"]),
        ("志愿", ["volunteer.registered", "volunteer.teams"]),
        ("weather", []),
    ],
)
def test_an_indicator_by_code_group_or_name(name: str, codes: list[str]) -> None:
    assert [i.code for i in match_indicators(name, CATALOG)] == codes
