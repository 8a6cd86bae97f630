"""Words and their parts of speech, from jieba's dictionary cut down to its common words.

jieba's full dictionary (350,000 words) takes most of a second to load at every start, and its tagger
(`jieba.posseg`) runs a hidden Markov model per sentence. The passes need less: where words begin and end
around a place name, and whether a few words are nouns. The words jieba has seen at least `MIN_FREQUENCY`
times (136,000) segment campaign reports the same way in a third of the time, and their tags come with them
as a lookup.
"""

from __future__ import annotations

import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


def _import_jieba_without_pkg_resources() -> ModuleType:
    """jieba imports the deprecated pkg_resources (a tenth of a second or more at every start) only to
    open its own data files, and opens them directly when that import fails: make it fail while jieba
    loads, and only then."""
    if "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


jieba = _import_jieba_without_pkg_resources()

MIN_FREQUENCY = 5
_UNKNOWN = "x"
_NAME_FREQUENCY = 1000  # about as common as the place names jieba already knows


def cache_dir() -> Path:
    """Where derived data is kept between runs (`$XDG_CACHE_HOME/wenming`), or a temporary folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for candidate in (Path(base) / "wenming", Path(tempfile.gettempdir()) / f"wenming-{os.getuid()}"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    raise OSError("no writable cache folder (set XDG_CACHE_HOME)")


class Lexicon:
    """A tokenizer and a word → part-of-speech table; build once per process."""

    def __init__(self, *, min_frequency: int = MIN_FREQUENCY, folder: Path | None = None) -> None:
        folder = folder or cache_dir()
        path = _common_words(Path(str(jieba.__file__)).parent / "dict.txt", folder, min_frequency)
        self._tags: dict[str, str] = _tags_of(path)
        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer(str(path))
        self._tokenizer.tmp_dir = str(folder)  # jieba keeps its own cache of the prefix dictionary there
        self._tokenizer.initialize()

    def add_names(self, names: Iterable[str]) -> None:
        """Place names as words ('潍城区'), so that a name is one word and known for a name ('ns')."""
        for name in names:
            if name not in self._tags:
                self._tokenizer.add_word(name, _NAME_FREQUENCY, "ns")
                self._tags[name] = "ns"

    def cut(self, text: str) -> list[str]:
        """The words of `text`, dictionary words only (no guessing of unknown ones)."""
        return list(self._tokenizer.cut(text, HMM=False))

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """The words of `text` with their part of speech ('n', 'v', 'ns', …); a word the dictionary lacks,
        found by jieba's model of unseen words (a name, mostly), is 'x'."""
        return [(word, self._tags.get(word, _UNKNOWN)) for word in self._tokenizer.cut(text, HMM=True)]

    def word_bounds(self, text: str) -> set[int]:
        """Offsets where a word of `text` begins or ends."""
        bounds = {0, len(text)}
        for _, start, end in self._tokenizer.tokenize(text, HMM=False):
            bounds.add(start)
            bounds.add(end)
        return bounds


def _tags_of(path: Path) -> dict[str, str]:
    """Word → tag of a dictionary file, kept beside it in marshal form: read at every start, and parsing
    136,000 lines costs a tenth of a second."""
    cached = path.with_suffix(".tags.marshal")
    try:
        tags = marshal.loads(cached.read_bytes())
        if isinstance(tags, dict):
            return tags
    except (OSError, ValueError, EOFError, TypeError):
        pass
    tags = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, tag = line.rstrip("\n").split(" ")
            tags[word] = tag
    write_cache(cached, marshal.dumps(tags))
    return tags


def _common_words(source: Path, folder: Path, min_frequency: int) -> Path:
    """jieba's dictionary cut to its common words, written once to the cache folder."""
    path = folder / f"jieba-common-{min_frequency}-{source.stat().st_size}.txt"
    if path.exists():
        return path
    kept = []
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and int(parts[1]) >= min_frequency:
                kept.append(" ".join(parts))
    write_cache(path, ("\n".join(kept) + "\n").encode("utf-8"))
    return path


def write_cache(path: Path, content: bytes) -> None:
    """Write a cache file under another name and rename it, so that no reader ever sees half of it; a cache
    that cannot be written is only a slower next start."""
    try:
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".part") as out:
            out.write(content)
        os.replace(out.name, path)
    except OSError:
        return
