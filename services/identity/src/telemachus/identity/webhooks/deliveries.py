"""The webhook delivery queue: one row per (subscription, event), delivered in log order.

Order: each subscription has one lane per partition of each topic it reads, and a lane
delivers its oldest pending event before the next, so one aggregate's events (one key, so
one partition) arrive in the order they were published. A lane's head that fails waits with
exponential backoff and holds the lane (as a Kafka consumer would); after `attempts` it is
dead-lettered here and the lane goes on. An operator replays dead deliveries; they are then
the lane's oldest again, and `sequence` in each event lets the receiver ignore a fact older
than one it holds.

Replicas: the head is claimed before it is sent (a lease of `claim_seconds`), so two
replicas never send one lane's events at once, and a replica killed mid-send leaves the head
to be claimed again: at least once, never out of order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.worker import QueueWorker

log = logging.getLogger(__name__)
SUBSCRIPTIONS = "webhooks"
DELIVERIES = "webhook_deliveries"
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Delivered rows are kept this long for the integrator's questions, then expire.
KEEP_DELIVERED = timedelta(days=7)


@dataclass(frozen=True)
class SignedRecord:
    """An event as it was on the log: the signature covers these headers and bytes."""

    topic: str
    partition: int
    offset: int
    key: str
    event_type: str
    event_id: str
    headers: Mapping[str, str]
    data: bytes


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 10
    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 3600.0
    claim_seconds: float = 60.0
    poll_seconds: float = 0.5
    per_lane: int = 50  # heads one lane delivers in a row before the others get a turn


class Outcome(Protocol):
    @property
    def delivered(self) -> bool: ...
    @property
    def reason(self) -> str: ...


class Sender(Protocol):
    async def send(self, url: str, row: Document) -> Outcome: ...


def lane_of(subscription_id: str, record: SignedRecord) -> str:
    return f"{subscription_id}/{record.topic}/{record.partition}"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[DELIVERIES].create_indexes(
        [
            IndexModel([("lane", ASCENDING), ("status", ASCENDING), ("offset", ASCENDING)]),
            IndexModel([("subscription_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("status", ASCENDING)]),
            IndexModel(
                [("delivered_at", ASCENDING)],
                name="delivered_ttl",
                expireAfterSeconds=int(KEEP_DELIVERED.total_seconds()),
            ),
        ]
    )
    await db[SUBSCRIPTIONS].create_index([("active", ASCENDING), ("event_types", ASCENDING)])


async def enqueue(db: AsyncDatabase[Document], record: SignedRecord, now: datetime) -> int:
    """A row for each active subscription to the event's type; a redelivered record adds
    nothing (the row's id is the subscription and the event's id). Returns how many."""
    wanted = (
        await db[SUBSCRIPTIONS]
        .find({"active": True, "event_types": record.event_type}, {"_id": 1})
        .to_list()
    )
    if not wanted:
        return 0
    rows = [
        UpdateOne(
            {"_id": f"{s['_id']}/{record.event_id}"},
            {
                "$setOnInsert": {
                    "subscription_id": s["_id"],
                    "lane": lane_of(s["_id"], record),
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "key": record.key,
                    "type": record.event_type,
                    "event_id": record.event_id,
                    "headers": dict(record.headers),
                    "data": record.data,
                    "status": PENDING,
                    "tries": 0,
                    "next_at": now,
                    "claimed_until": now,
                    "created_at": now,
                }
            },
            upsert=True,
        )
        for s in wanted
    ]
    await db[DELIVERIES].bulk_write(rows, ordered=False)
    return len(rows)


async def replay_dead(db: AsyncDatabase[Document], subscription_id: str, now: datetime) -> int:
    """Dead deliveries of a subscription go again, each with a fresh count of tries."""
    result = await db[DELIVERIES].update_many(
        {"subscription_id": subscription_id, "status": DEAD},
        {
            "$set": {"status": PENDING, "tries": 0, "next_at": now, "claimed_until": now},
            "$unset": {"dead_at": ""},
        },
    )
    return result.modified_count


class WebhookDispatcher:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        sender: Sender,
        policy: DeliveryPolicy,
        clock: Clock = utc_now,
    ) -> None:
        self._db = db
        self._rows = db[DELIVERIES]
        self._sender = sender
        self._policy = policy
        self._clock = clock
        self._worker = QueueWorker("webhook dispatcher", self.dispatch_once, policy.poll_seconds)

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def dispatch_once(self) -> int:
        """Every lane with something pending delivers its due heads, lanes side by side;
        returns how many deliveries were tried."""
        active = {
            s["_id"]: s["url"]
            for s in await self._db[SUBSCRIPTIONS].find({"active": True}).to_list()
        }
        if not active:
            return 0
        # A stopped webhook's pending rows stay listed, unsent.
        lanes = await self._rows.distinct(
            "lane", {"status": PENDING, "subscription_id": {"$in": list(active)}}
        )
        tried = await asyncio.gather(*(self._lane(lane, active) for lane in lanes))
        return sum(tried)

    async def _lane(self, lane: str, urls: Mapping[str, str]) -> int:
        tried = 0
        while tried < self._policy.per_lane:
            head = await self._rows.find_one(
                {"lane": lane, "status": PENDING}, sort=[("offset", ASCENDING)]
            )
            if head is None or head["subscription_id"] not in urls:
                return tried  # drained, or the subscription was removed or paused
            now = self._clock()
            if head["next_at"] > now or head["claimed_until"] > now:
                return tried  # waiting out its backoff, or another replica is sending it
            token = uuid.uuid4().hex
            claimed = await self._rows.update_one(
                {"_id": head["_id"], "status": PENDING, "claimed_until": {"$lte": now}},
                {
                    "$set": {
                        "claim": token,
                        "claimed_until": now + timedelta(seconds=self._policy.claim_seconds),
                    },
                    "$inc": {"tries": 1},
                },
            )
            if claimed.modified_count != 1:
                return tried
            tried += 1
            outcome = await self._sender.send(urls[head["subscription_id"]], head)
            if not await self._settle(token, head, outcome):
                return tried

        return tried

    async def _settle(self, token: str, head: Document, outcome: Outcome) -> bool:
        """Records the outcome; whether the lane may go on at once."""
        now = self._clock()
        tries = head["tries"] + 1
        change: dict[str, Any]
        if outcome.delivered:
            change = {"status": DELIVERED, "delivered_at": now, "reason": None}
        elif tries >= self._policy.attempts:
            log.warning(
                "webhook delivery %s dead-lettered after %d tries: %s",
                head["_id"],
                tries,
                outcome.reason,
            )
            change = {"status": DEAD, "dead_at": now, "reason": outcome.reason}
        else:
            backoff = min(
                self._policy.backoff_seconds * 2 ** (tries - 1), self._policy.max_backoff_seconds
            ) * random.uniform(0.8, 1.2)
            change = {
                "next_at": now + timedelta(seconds=backoff),
                "claimed_until": now,
                "reason": outcome.reason,
            }
        # Only while our claim holds: one taken over by another replica is theirs.
        await self._rows.update_one({"_id": head["_id"], "claim": token}, {"$set": change})
        return bool(outcome.delivered or change.get("status") == DEAD)
