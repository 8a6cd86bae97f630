"""Stream and consumer-group names, written once for every stage."""

from __future__ import annotations

from dataclasses import dataclass

INGESTED = "documents.ingested.v1"
NORMALIZED = "documents.normalized.v1"
EXTRACTED = "documents.extracted.v1"
DEAD_LETTER = "documents.dead-letter.v1"
# Not a stream: the keys under which texts too large for a message are kept (shared/content_store.py).
CONTENTS = "contents"

# Which stream each consuming stage reads, in pipeline order; a stage's group is its name.
STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "normalize": (INGESTED,),
    "extract": (NORMALIZED,),
    "store": (EXTRACTED, DEAD_LETTER),
}
STAGES = ("ingest", "normalize", "extract", "store")


def dead_letter_counter(dead_letter_stream: str) -> str:
    """The key counting the dead letters ever published to the stream.

    Redis 6.2 (the embedded server) keeps no count of a stream's additions, and the length of the
    stream forgets what the store has taken and trimming removed.
    """
    return f"{dead_letter_stream}:added"


def isolated_attempts_key(stream: str, group: str) -> str:
    """The hash counting, per entry of `stream`, the group's attempts on it alone that never finished."""
    return f"{stream}:{group}:isolated-attempts"


@dataclass(frozen=True)
class Topology:
    """Stream names under one prefix, so tests and deployments never collide."""

    prefix: str

    def stream(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    @property
    def ingested(self) -> str:
        return self.stream(INGESTED)

    @property
    def normalized(self) -> str:
        return self.stream(NORMALIZED)

    @property
    def extracted(self) -> str:
        return self.stream(EXTRACTED)

    @property
    def dead_letter(self) -> str:
        return self.stream(DEAD_LETTER)

    @property
    def dead_letters_added(self) -> str:
        return dead_letter_counter(self.dead_letter)

    @property
    def dead_letters_seen(self) -> str:
        """The dead-letter count at the last `wenming lag`: what is above it is news."""
        return f"{self.dead_letters_added}:seen"

    @property
    def contents(self) -> str:
        """Prefix of the keys that hold what messages refer to."""
        return self.stream(CONTENTS)

    def consumer_groups(self) -> list[tuple[str, str]]:
        """Every (stream, group) pair, in pipeline order."""
        return [(self.stream(name), stage) for stage, names in STAGE_INPUTS.items() for name in names]
