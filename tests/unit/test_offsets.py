"""The run-length offset map answers every lookup as the per-character map it replaced did."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.normalize import normalizer
from services.normalize.normalizer import ScriptConverter, normalize_text
from services.normalize.offsets import AlignedText, Edit
from shared.offsets import OffsetMap, OffsetMapBuilder
from tests.unit.test_normalize_properties import report_like


@dataclass(frozen=True)
class PerCharacterAlignedText:
    """The map as it was before runs: one integer per character (kept here as the reference)."""

    text: str
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, original: str) -> PerCharacterAlignedText:
        return cls(original, tuple(range(len(original))))

    def apply(self, edits: Iterable[Edit]) -> PerCharacterAlignedText:
        pieces: list[str] = []
        offsets: list[int] = []
        cursor = 0
        for edit in sorted(edits, key=lambda e: e.start):
            if edit.start < cursor or edit.end < edit.start:
                raise ValueError(f"overlapping or inverted edit at {edit.start}")
            span = edit.end - edit.start
            picks = range(len(edit.replacement)) if edit.picks is None else edit.picks
            if len(picks) != len(edit.replacement) or len(edit.replacement) > span:
                raise ValueError(f"replacement longer than its span at {edit.start}")
            pieces.append(self.text[cursor : edit.start])
            offsets.extend(self.offsets[cursor : edit.start])
            pieces.append(edit.replacement)
            offsets.extend(self.offsets[edit.start + k] for k in picks)
            cursor = edit.end
        if cursor == 0 and not pieces:
            return self
        pieces.append(self.text[cursor:])
        offsets.extend(self.offsets[cursor:])
        return PerCharacterAlignedText("".join(pieces), tuple(offsets))

    def sub(
        self, pattern: re.Pattern[str], replace: str | Callable[[re.Match[str]], str]
    ) -> PerCharacterAlignedText:
        edits = []
        for match in pattern.finditer(self.text):
            replacement = replace if isinstance(replace, str) else replace(match)
            if replacement != match.group():
                edits.append(Edit(match.start(), match.end(), replacement))
        return self.apply(edits)

    def translate(self, table: dict[int, str]) -> PerCharacterAlignedText:
        return PerCharacterAlignedText(self.text.translate(table), self.offsets)


converter = ScriptConverter()


# --- the map itself -------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=-1000, max_value=10**9), max_size=300))
def test_runs_of_any_per_character_map_give_back_every_offset(offsets: list[int]) -> None:
    runs = OffsetMap.from_offsets(offsets)
    assert len(runs) == len(offsets)
    assert list(runs) == offsets
    assert [runs[i] for i in range(len(offsets))] == offsets
    assert [runs[-i] for i in range(1, len(offsets) + 1)] == [offsets[-i] for i in range(1, len(offsets) + 1)]
    assert OffsetMap(runs.runs(), len(offsets)) == runs


@given(st.lists(st.integers(min_value=1, max_value=5), max_size=300))
def test_one_run_per_change_of_shift(gaps: list[int]) -> None:
    offsets = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    shifts = [offset - i for i, offset in enumerate(offsets)]
    changes = sum(1 for i in range(len(shifts)) if i == 0 or shifts[i] != shifts[i - 1])
    assert len(OffsetMap.from_offsets(offsets).runs()) == changes


def test_an_original_maps_to_itself_in_one_run() -> None:
    identity = OffsetMap.identity(5_000_000)
    assert identity.runs() == ((0, 0),)
    assert identity[0] == 0 and identity[4_999_999] == 4_999_999 and identity[-1] == 4_999_999
    assert OffsetMap.identity(0).runs() == () and list(OffsetMap.identity(0)) == []


def test_lookups_out_of_range_and_slices_behave_like_a_tuple() -> None:
    runs = OffsetMap.from_offsets([0, 1, 4, 5, 9])
    assert runs[1:4] == (1, 4, 5) and runs[::2] == (0, 4, 9) and runs[3:] == (5, 9)
    with pytest.raises(IndexError):
        runs[5]
    with pytest.raises(IndexError):
        runs[-6]


@pytest.mark.parametrize(
    ("runs", "length"),
    [([(1, 0)], 3), ([(0, 0), (0, 2)], 3), ([(0, 0), (3, 1)], 3), ([], 2), ([(0, 0)], -1)],
)
def test_runs_that_do_not_cover_the_text_are_refused(runs: list[tuple[int, int]], length: int) -> None:
    with pytest.raises(ValueError):
        OffsetMap(runs, length)


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), max_size=100),
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=120),
)
def test_a_slice_copied_into_a_builder_reads_as_the_slice(offsets: list[int], start: int, end: int) -> None:
    builder = OffsetMapBuilder()
    builder.add(7, 3)
    builder.add_slice(OffsetMap.from_offsets(offsets), start, end)
    assert list(builder.build()) == [7, 8, 9, *offsets[start:end]]


# --- normalization with runs equals normalization per character --------------------------------


@st.composite
def texts_with_edits(draw: st.DrawFn) -> tuple[str, list[Edit]]:
    text = draw(st.text(alphabet="文明城市志愿者 \n　12", max_size=60))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    edits = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        span = end - start
        length = draw(st.integers(0, span))
        replacement = draw(st.text(alphabet="文明XY", min_size=length, max_size=length))
        picks: Sequence[int] | None = None
        if draw(st.booleans()):
            picks = sorted(draw(st.sets(st.integers(0, max(span - 1, 0)), min_size=length, max_size=length)))
        edits.append(Edit(start, end, replacement, picks if span else None))
    return text, edits


@given(st.lists(texts_with_edits(), min_size=1, max_size=4))
def test_any_sequence_of_edits_gives_the_per_character_offsets(rounds: list[tuple[str, list[Edit]]]) -> None:
    original = rounds[0][0]
    runs, reference = AlignedText.of(original), PerCharacterAlignedText.of(original)
    for _, edits in rounds:
        edits = [e for e in edits if e.end <= len(runs.text)]  # later rounds edit a shorter text
        runs, reference = runs.apply(edits), reference.apply(edits)
        assert runs.text == reference.text
        assert tuple(runs.offsets) == reference.offsets


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(report_like(), st.text(max_size=200)))
def test_normalized_text_maps_back_exactly_as_per_character(original: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalizer, "AlignedText", PerCharacterAlignedText)
        reference = normalize_text(original, converter)
    normalized = normalize_text(original, converter)
    assert normalized.text == reference.text
    assert isinstance(normalized.offsets, OffsetMap)
    assert tuple(normalized.offsets) == tuple(reference.offsets)
    assert [normalized.offsets[i] for i in range(len(normalized.text))] == list(reference.offsets)


def test_a_seed_report_needs_far_fewer_runs_than_characters(seed_texts: list[str]) -> None:
    for original in seed_texts:
        normalized = normalize_text(original, converter)
        assert len(normalized.offsets.runs()) * 10 < len(normalized.text)


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    from tests.support.reference import SEEDS

    return [path.read_text(encoding="utf-8") for path in SEEDS]
