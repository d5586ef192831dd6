"""Notifier benchmark: 10,000 notices e-mailed by identity's dispatcher, beside a bare loop
of SMTP sends in the same run (same SMTP server, same number of connections).

Both sides send to the same local SMTP server (aiosmtpd, storing every message in a
maildir). The bare loop sends messages composed beforehand, one `send_message` after
another on each connection, and records nothing. The dispatcher does its whole job per
notice: claims it in the mail outbox (SecantusDB), reads the notice and its recipient,
composes text, HTML and (for a third of them, session notices) an iCalendar invitation,
sends, and records it sent. The ratio is the price of exactly-once bookkeeping and
composing, against the relay's own speed.

usage: python benchmarks/notifications.py [--notices 10000] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from summary import Figure, report  # a sibling module: run as a script

from telemachus.identity.notifications.composer import Addressee, MailComposer, Titles
from telemachus.identity.notifications.dispatch import DispatchPolicy, MailDispatcher
from telemachus.identity.notifications.notices import Notice, NoticeKind
from telemachus.identity.notifications.recording import mail_row
from telemachus.identity.notifications.smtp import SmtpRelay
from telemachus.identity.service_layer.unit_of_work import MAIL_OUTBOX, NOTICES
from telemachus.shared.runtime.documents import to_document
from telemachus.shared.runtime.local_infra import LocalInfrastructure
from telemachus.shared.runtime.local_mail import LocalMailServer
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.store import create_mongo_client

INSTITUTION = "bench-hospital"
NOW = datetime.now(UTC)


def notices(count: int) -> list[Notice]:
    made = []
    for n in range(count):
        session = n % 3 == 0
        params = (
            {
                "relationship_id": f"relationship_{n}",
                "session_id": f"session_{n}",
                "starts_at": (NOW + timedelta(days=7)).isoformat(),
                "ends_at": (NOW + timedelta(days=7, hours=1)).isoformat(),
                "format": "virtual",
                "sequence": "0",
                "topic": "e-medicine",
            }
            if session
            else {"stalled_since": "2026-11-01"}
        )
        made.append(
            Notice(
                id=secrets.token_hex(16),
                recipient=f"contact:person{n}@{INSTITUTION}.example",
                kind=NoticeKind.SESSION_SCHEDULED if session else NoticeKind.RELATIONSHIP_STALLED,
                fact=f"fact_{n}",
                lead=INSTITUTION,
                program_id="program",
                target=f"relationship_{n}",
                params=params,
                created_at=NOW,
                email="queued",
            )
        )
    return made


async def bare_loop(port: int, messages: list[EmailMessage], connections: int) -> float:
    async def lane(share: list[EmailMessage]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for message in share:
            await client.send_message(message)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(lane(messages[i::connections]) for i in range(connections)))
    return time.perf_counter() - started


async def dispatcher_run(
    infra: LocalInfrastructure, mail: LocalMailServer, made: list[Notice], connections: int
) -> float:
    client = create_mongo_client(infra.mongodb_uri, "notifications-bench")
    db = client[f"bench-{secrets.token_hex(3)}"]
    try:
        for start in range(0, len(made), 1000):  # seeding, not measured
            chunk = made[start : start + 1000]
            await db[NOTICES].insert_many([to_document(n) for n in chunk])
            await db[MAIL_OUTBOX].insert_many([mail_row(n, NOW) for n in chunk])
        await db[MAIL_OUTBOX].create_index([("status", 1), ("next_at", 1)])
        await db[MAIL_OUTBOX].create_index([("claim", 1)])
        settings = ServiceSettings(
            institution=INSTITUTION,
            service="identity",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
        )
        dispatcher = MailDispatcher(
            db,
            SmtpRelay(settings),
            MailComposer(INSTITUTION, settings.mail_sender, "https://portal.example"),
            DispatchPolicy(connections=connections),
        )
        started = time.perf_counter()
        while await dispatcher.dispatch_once():
            pass
        elapsed = time.perf_counter() - started
        left = await db[MAIL_OUTBOX].count_documents({"status": {"$ne": "sent"}})
        assert left == 0, f"{left} e-mails not sent"
        return elapsed
    finally:
        await client.close()


async def main(count: int, connections: int) -> None:
    infra = LocalInfrastructure()
    infra.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            with LocalMailServer(Path(folder) / "bare") as bare_mail:
                composer = MailComposer(INSTITUTION, "bench@example.org", "https://portal.example")
                made = notices(count)
                reader = Addressee("x@example.org", None)
                # Composed beforehand: the bare loop measures sending alone.
                messages = [composer.compose(n, reader, Titles()) for n in made]
                bare = await bare_loop(bare_mail.port, messages, connections)
                assert bare_mail.counts.stored == count
            with LocalMailServer(Path(folder) / "notifier") as notifier_mail:
                ours = await dispatcher_run(infra, notifier_mail, made, connections)
                assert notifier_mail.counts.stored == count
                assert notifier_mail.counts.duplicates == 0
    finally:
        infra.stop()
    print(f"\nnotifications: {count} e-mails over {connections} SMTP connections (local aiosmtpd)")
    print(f"{'':28}{'seconds':>10}{'e-mails/s':>12}")
    print(f"{'bare aiosmtplib loop':28}{bare:10.2f}{count / bare:12.0f}")
    print(f"{'notifier (outbox + compose)':28}{ours:10.2f}{count / ours:12.0f}")
    print(f"ratio notifier / bare loop: {bare / ours:.2f}x the bare loop's throughput")
    report(
        Figure(
            "notifications",
            f"{count} e-mails sent",
            count / ours,
            "e-mails/s",
            bare / ours,
            "bare aiosmtplib loop",
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.notices, args.connections))
