"""A service's dead letters read back, for ops to list, show and replay after a fix.

The dead-letter topic is the record (kept like every topic); a dead letter is named by its
place on it, `<partition>-<offset>`. What was replayed, when, by whom and with what outcome
is kept in the service's store beside it, so a list says which are settled.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from pymongo.asynchronous.collection import AsyncCollection

from telemachus.shared.contracts.envelope import HEADER_PREFIX
from telemachus.shared.runtime import dead_letter as dl
from telemachus.shared.runtime.broker import PartitionReader
from telemachus.shared.runtime.store import Document

REPLAYS_COLLECTION = "dead_letter_replays"
_ADDED = {
    dl.REASON,
    dl.DETAIL,
    dl.ORIGINAL_TOPIC,
    dl.ORIGINAL_PARTITION,
    dl.ORIGINAL_OFFSET,
    dl.CONSUMER_GROUP,
    dl.FAILED_AT,
    dl.TRUNCATED,
    dl.ORIGINAL_BYTES,
    dl.ORIGINAL_SHA256,
    dl.BASE64_HEADERS,
}


class NotReplayable(ValueError):
    pass


def letter_id(partition: int, offset: int) -> str:
    # Zero-padded: ids sort in the order of the topic (and page by it).
    return f"{partition}-{offset:012d}"


@dataclass(frozen=True)
class DeadLetter:
    id: str
    headers: dict[str, str]
    body: bytes
    key: bytes | None

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any]) -> DeadLetter:
        headers = {name: bytes(value).decode(errors="replace") for name, value in record.headers}
        return cls(
            letter_id(record.partition, record.offset), headers, record.value or b"", record.key
        )

    def summary(self) -> dict[str, Any]:
        h = self.headers
        return {
            "id": self.id,
            "reason": h.get(dl.REASON),
            "detail": h.get(dl.DETAIL),
            "failed_at": h.get(dl.FAILED_AT),
            "consumer_group": h.get(dl.CONSUMER_GROUP),
            "original": {
                "topic": h.get(dl.ORIGINAL_TOPIC),
                "partition": int(h.get(dl.ORIGINAL_PARTITION, "-1")),
                "offset": int(h.get(dl.ORIGINAL_OFFSET, "-1")),
            },
            "event": {
                "id": h.get(f"{HEADER_PREFIX}id"),
                "type": h.get(f"{HEADER_PREFIX}type"),
                "source": h.get(f"{HEADER_PREFIX}source"),
                "time": h.get(f"{HEADER_PREFIX}time"),
            },
            # The producer's trace: `telemachus traces <id>` or Jaeger shows where it came from.
            "trace_id": dl.trace_id_of(h.get("traceparent", "")),
            "truncated": h.get(dl.TRUNCATED) == "true",
            "original_bytes": int(h.get(dl.ORIGINAL_BYTES, len(self.body))),
        }

    def original(self) -> ConsumerRecord[Any, Any]:
        """The record as it was first read: same place, key, body and headers."""
        h = self.headers
        if h.get(dl.TRUNCATED) == "true":
            raise NotReplayable(
                f"the original was {h.get(dl.ORIGINAL_BYTES)} bytes and only its first "
                f"{len(self.body)} were kept; its publisher must send it again"
            )
        if dl.ORIGINAL_TOPIC not in h:
            raise NotReplayable("not a dead letter: it names no original topic")
        binary = set(filter(None, h.get(dl.BASE64_HEADERS, "").split(",")))
        original = [
            (name, base64.b64decode(value) if name in binary else value.encode())
            for name, value in h.items()
            if name not in _ADDED
        ]
        return ConsumerRecord(
            topic=h[dl.ORIGINAL_TOPIC],
            partition=int(h[dl.ORIGINAL_PARTITION]),
            offset=int(h[dl.ORIGINAL_OFFSET]),
            timestamp=0,
            timestamp_type=0,
            key=self.key,
            value=self.body,
            checksum=None,
            serialized_key_size=len(self.key or b""),
            serialized_value_size=len(self.body),
            headers=tuple(original),
        )


class DeadLetterArchive:
    def __init__(
        self, topic: str, reader: PartitionReader, replays: AsyncCollection[Document]
    ) -> None:
        self.topic = topic
        self._reader = reader
        self._replays = replays

    async def all(self) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        for partition in await self._reader.partitions(self.topic):
            records = await self._reader.records(self.topic, partition)
            letters.extend(DeadLetter.of(r) for r in records)
        return letters

    async def get(self, letter: str) -> DeadLetter | None:
        try:
            partition, offset = (int(part) for part in letter.split("-", 1))
        except ValueError:
            return None
        record = await self._reader.record_at(self.topic, partition, offset)
        return DeadLetter.of(record) if record is not None else None

    async def replays(self, letters: list[str]) -> dict[str, Document]:
        found = self._replays.find({"_id": {"$in": letters}})
        return {d["_id"]: d for d in await found.to_list(None)}

    async def record_replay(self, letter: str, outcome: str, by: str) -> Document:
        entry = {"outcome": outcome, "at": datetime.now(UTC), "by": by}
        await self._replays.update_one(
            {"_id": letter},
            {"$set": {"last": entry}, "$inc": {"times": 1}},
            upsert=True,
        )
        return entry
