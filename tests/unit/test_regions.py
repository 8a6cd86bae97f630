"""Rows of the regions table from the administrative-division tree."""

from __future__ import annotations

from services.store.regions import Region, regions_from_divisions

_TREE = {
    "北京市": {
        "_admin_code": "110000",
        "北京市": {"_admin_code": "110000", "东城区": {"_admin_code": "110101"}},
    },
    "湖北省": {
        "_admin_code": "420000",
        "宜昌市": {"_admin_code": "420500", "_alias": ["宜昌"], "枝江市": {"_admin_code": "420583"}},
        "省直辖县级行政区划": {"_admin_code": "429000", "仙桃市": {"_admin_code": "429004"}},
    },
}


def test_each_code_once_with_its_level_parent_province_and_prefecture() -> None:
    regions = {r.code: r for r in regions_from_divisions(_TREE)}
    assert list(regions) == sorted(regions)
    # A municipality listed again as its own prefecture keeps its provincial row.
    assert regions["110000"] == Region("110000", "北京市", "province", None, "北京市", None)
    assert regions["110101"] == Region("110101", "东城区", "district", "110000", "北京市", "北京市")
    assert regions["420583"] == Region("420583", "枝江市", "county", "420500", "湖北省", "宜昌市")
    assert regions["420500"].level == "prefecture" and regions["420500"].prefecture == "宜昌市"
    # A county under a placeholder grouping has no prefecture.
    assert regions["429004"] == Region("429004", "仙桃市", "county", "429000", "湖北省", None)
