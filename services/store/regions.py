"""Administrative divisions for the `regions` table, from jionlp's china_location data.

The extract stage resolves places against the same data (services/extract/places.py), so every
`metrics.place_code` it writes is a code found here.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

RegionLevel = Literal["province", "prefecture", "county", "district"]

_DEPTHS: tuple[RegionLevel, ...] = ("province", "prefecture", "county")
_CODE = re.compile(r"^\d{6}$")
# Groupings in the data that are not cities ('省直辖县级行政区划'): no prefecture for what they hold.
_NOT_A_PREFECTURE = ("直辖县级行政区划", "直辖行政区划")


@dataclass(frozen=True)
class Region:
    """One administrative division, with the province and prefecture it is or lies in."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    province: str
    prefecture: str | None


def load_divisions() -> Mapping[str, Any]:
    """jionlp's bundled tree of province → prefecture → county, each node with its `_admin_code`."""
    # jionlp prints a banner on import; a stage's stdout may carry JSON lines.
    with contextlib.redirect_stdout(io.StringIO()):
        from jionlp.dictionary.dictionary_loader import china_location_loader

        divisions: Mapping[str, Any] = china_location_loader()
    return divisions


def regions_from_divisions(divisions: Mapping[str, Any]) -> list[Region]:
    """One region per code, ordered by code.

    A code listed twice keeps its first, higher, level: a municipality (北京市) is listed again as
    its own prefecture, and 东莞市 again as its '市直辖行政区划'.
    """
    regions: dict[str, Region] = {}

    def walk(node: Mapping[str, Any], depth: int, path: tuple[tuple[str, str], ...]) -> None:
        for name, child in node.items():
            if name.startswith("_") or depth >= len(_DEPTHS) or not isinstance(child, Mapping):
                continue
            code = str(child.get("_admin_code", ""))
            if not _CODE.match(code):
                continue
            here = (*path, (name, code))
            if code not in regions:
                regions[code] = _region(here, depth)
            walk(child, depth + 1, here)

    walk(divisions, 0, ())
    return [regions[code] for code in sorted(regions)]


def _region(path: tuple[tuple[str, str], ...], depth: int) -> Region:
    name, code = path[-1]
    level = _DEPTHS[depth]
    # What an analyst reads, as the extractor's place levels say: a county-level unit named 区 is a district.
    if level == "county" and name.endswith("区"):
        level = "district"
    prefecture = path[1][0] if depth >= 1 else None
    if prefecture is not None and prefecture.endswith(_NOT_A_PREFECTURE):
        prefecture = None
    return Region(
        code=code,
        name=name,
        level=level,
        parent_code=path[-2][1] if depth else None,
        province=path[0][0],
        prefecture=prefecture,
    )
