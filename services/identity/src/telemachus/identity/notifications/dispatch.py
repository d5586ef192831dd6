"""The mail outbox's dispatcher: claims due e-mails, sends them over a few SMTP
connections, and records each one as soon as the relay has taken it.

Claims are leases, so two replicas never send one e-mail at the same time and a replica
killed mid-send leaves its e-mails to be claimed again after `mail_claim_seconds`. An
e-mail is sent again only if its sender died between the relay's acceptance and our
record of it: the same Message-ID then lets the relay or the reader's client drop it
(docs/notifications.md says how wide that window is). A refused or unreachable relay
makes the e-mail wait with exponential backoff; after `mail_attempts` it is dead-lettered
here, kept with its reason until an operator sends it again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.domain.participants import Participant
from telemachus.identity.notifications.composer import Addressee, MailComposer, load_titles
from telemachus.identity.notifications.notices import Notice
from telemachus.identity.notifications.smtp import MailRefused, RelayUnavailable
from telemachus.identity.service_layer.unit_of_work import MAIL_OUTBOX, NOTICES, PARTICIPANTS
from telemachus.shared.clock import Clock, utc_now
from telemachus.shared.runtime.documents import from_document
from telemachus.shared.runtime.metrics import ServiceMetrics
from telemachus.shared.runtime.store import Document, update_many_alone
from telemachus.shared.runtime.worker import QueueWorker

log = logging.getLogger(__name__)
PER_CONNECTION = 25  # e-mails one connection sends per claim
MAX_BACKOFF = timedelta(hours=2)


class Connection(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class Relay(Protocol):
    def connection(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...


@dataclass(frozen=True)
class DispatchPolicy:
    connections: int = 4
    attempts: int = 8
    backoff_seconds: float = 30.0
    claim_seconds: float = 60.0
    poll_seconds: float = 1.0


@dataclass
class Job:
    id: str
    tries: int
    message: EmailMessage | None = None  # None: nothing left to send (erased, say)
    digest: list[str] = field(default_factory=list)  # a weekly digest: the notices it tells
    unsendable: str | None = None  # why it can never be sent (dead-lettered at once)


class MailDispatcher:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        relay: Relay,
        composer: MailComposer,
        policy: DispatchPolicy,
        metrics: ServiceMetrics | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._db = db
        self._jobs = db[MAIL_OUTBOX]
        self._relay = relay
        self._composer = composer
        self._policy = policy
        self._metrics = metrics
        self._clock = clock
        self._worker = QueueWorker("mail dispatcher", self.dispatch_once, policy.poll_seconds)

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def dispatch_once(self) -> int:
        """Claims and tries one batch; returns how many were claimed."""
        token, claimed = await self._claim()
        if not claimed:
            return 0
        jobs = await self._compose(claimed)
        lanes = [jobs[i :: self._policy.connections] for i in range(self._policy.connections)]
        await asyncio.gather(*(self._send_lane(token, lane) for lane in lanes if lane))
        return len(claimed)

    async def _claim(self) -> tuple[str, list[Document]]:
        now = self._clock()
        limit = self._policy.connections * PER_CONNECTION
        due = {"status": "due", "next_at": {"$lte": now}, "claimed_until": {"$lte": now}}
        candidates = await self._jobs.find(due, {"_id": 1}).sort("next_at", 1).to_list(limit)
        if not candidates:
            return "", []
        token = uuid.uuid4().hex
        # Each row is claimed by one replica: the filter repeats what made it due.
        await update_many_alone(
            self._jobs,
            {"_id": {"$in": [c["_id"] for c in candidates]}, **due},
            {
                "$set": {
                    "claim": token,
                    "claimed_until": now + timedelta(seconds=self._policy.claim_seconds),
                },
                "$inc": {"tries": 1},
            },
        )
        return token, await self._jobs.find({"claim": token}).to_list()

    async def _compose(self, claimed: list[Document]) -> list[Job]:
        ids = [row["_id"] for row in claimed]
        ids += [i for row in claimed for i in row.get("digest", [])]
        notices = {
            n["_id"]: from_document(Notice, n)
            for n in await self._db[NOTICES].find({"_id": {"$in": ids}}).to_list()
        }
        people_ids = {
            n.recipient for n in notices.values() if not n.recipient.startswith("contact:")
        }
        people = {
            p["_id"]: from_document(Participant, p)
            for p in await self._db[PARTICIPANTS].find({"_id": {"$in": list(people_ids)}}).to_list()
        }
        titles = await load_titles(self._db, list(notices.values()))
        jobs = []
        for row in claimed:
            job = Job(row["_id"], row["tries"], digest=row.get("digest", []))
            told = [notices[i] for i in job.digest if i in notices]
            notice = notices.get(job.id) or (told[0] if told else None)
            to = self._addressee(notice, people) if notice else None
            try:
                if to is not None and job.digest and told:
                    job.message = self._composer.compose_digest(job.id, told, to, titles)
                elif to is not None and notice is not None and not job.digest:
                    job.message = self._composer.compose(notice, to, titles)
            except Exception as error:  # one bad notice must not hold the others
                log.exception("e-mail %s could not be composed", job.id)
                job.unsendable = f"could not be composed: {type(error).__name__}: {error}"
            jobs.append(job)
        return jobs

    def _addressee(self, notice: Notice, people: dict[str, Participant]) -> Addressee | None:
        if notice.recipient.startswith("contact:"):
            return Addressee(notice.recipient.removeprefix("contact:"), None)
        person = people.get(notice.recipient)
        if person is None:
            return None  # erased since: nothing of theirs is sent
        zone = person.availability.time_zone if person.availability else "UTC"
        return Addressee(
            person.work_email,
            person.display_name,
            self._composer.language_of(list(person.languages)),
            zone,
        )

    async def _send_lane(self, token: str, lane: list[Job]) -> None:
        waiting = [job for job in lane if job.message is not None]
        for job in lane:
            if job.unsendable is not None:
                await self._failed(token, job, job.unsendable, permanent=True)
            elif job.message is None:
                await self._settle(token, job, {"status": "dropped"}, "dropped")
        sent: list[Job] = []
        try:
            if waiting:
                await self._send_all(token, waiting, sent)
        finally:
            # What the notices show; the outbox row, written after each send, is the record.
            told = [i for job in sent for i in (job.digest or [job.id])]
            if told:
                await update_many_alone(
                    self._db[NOTICES], {"_id": {"$in": told}}, {"$set": {"email": "sent"}}
                )

    async def _send_all(self, token: str, waiting: list[Job], sent: list[Job]) -> None:
        try:
            async with self._relay.connection() as connection:
                while waiting:
                    job = waiting[0]
                    assert job.message is not None
                    try:
                        await connection.send(job.message)
                    except MailRefused as refused:
                        waiting.pop(0)
                        await self._failed(token, job, str(refused), permanent=refused.permanent)
                        continue
                    waiting.pop(0)
                    # At once: a crash from here to this write is the one window in which an
                    # e-mail can go twice (docs/notifications.md).
                    await self._settle(
                        token, job, {"status": "sent", "sent_at": self._clock()}, "sent"
                    )
                    sent.append(job)
        except RelayUnavailable as error:
            # This connection is gone: what it had not sent waits; other lanes go on.
            for job in waiting:
                await self._failed(token, job, str(error), permanent=False)

    async def _failed(self, token: str, job: Job, reason: str, *, permanent: bool) -> None:
        if permanent or job.tries >= self._policy.attempts:
            log.warning("e-mail %s dead-lettered after %d tries: %s", job.id, job.tries, reason)
            await self._settle(
                token, job, {"status": "dead", "reason": reason, "dead_at": self._clock()}, "dead"
            )
            return
        backoff = min(
            timedelta(seconds=self._policy.backoff_seconds * 2 ** (job.tries - 1)), MAX_BACKOFF
        ) * random.uniform(0.8, 1.2)
        now = self._clock()
        await self._settle(
            token,
            job,
            {"next_at": now + backoff, "claimed_until": now, "reason": reason},
            "retry",
        )

    async def _settle(self, token: str, job: Job, change: dict[str, Any], outcome: str) -> None:
        # Only while our claim holds: a claim taken over by another replica is theirs.
        await self._jobs.update_one({"_id": job.id, "claim": token}, {"$set": change})
        if outcome == "dead":
            told = job.digest or [job.id]
            await update_many_alone(
                self._db[NOTICES], {"_id": {"$in": told}}, {"$set": {"email": "dead"}}
            )
        if self._metrics is not None:
            self._metrics.mail.add(1, {"outcome": outcome, "resent": job.tries > 1})


async def retry_dead(db: AsyncDatabase[Document], notice_id: str, now: datetime) -> bool:
    """An operator sends a dead-lettered e-mail again, with a fresh count of tries."""
    result = await db[MAIL_OUTBOX].update_one(
        {"_id": notice_id, "status": "dead"},
        {"$set": {"status": "due", "tries": 0, "next_at": now, "claimed_until": now}},
    )
    if result.modified_count:
        await db[NOTICES].update_one({"_id": notice_id}, {"$set": {"email": "queued"}})
    return bool(result.modified_count)
