"""A local SMTP server (aiosmtpd) for `make up`, the demo and the tests: it speaks real
SMTP on a loopback port and keeps every message it accepts in a maildir, where any mail
client or the `mailbox` module can read it.

Like a relay that honours idempotency keys, it takes the Message-ID as one: a message
whose Message-ID it already holds is acknowledged and not stored twice, and counted
(`duplicates`), so a sender that retried after losing the acknowledgement shows up in
the count rather than in a person's inbox. Tests can make it refuse, stall or hang up.
"""

from __future__ import annotations

import asyncio
import logging
import mailbox
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from telemachus.shared.runtime.local_infra import free_port

# Before a message is taken: return an SMTP reply to refuse it ("451 ..."), or None.
Fault = Callable[[SMTP, Envelope], Awaitable[str | None]]


@dataclass
class Counts:
    accepted: int = 0  # transactions acknowledged with 250
    stored: int = 0
    duplicates: int = 0
    refused: int = 0


@dataclass
class _Handler:
    maildir: mailbox.Maildir
    seen: set[str]
    counts: Counts = field(default_factory=Counts)
    fault: Fault | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fault is not None:
            refusal = await self.fault(server, envelope)
            if refusal is not None:
                self.counts.refused += 1
                return refusal
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message_id = str(message_from_bytes(raw, policy=default).get("Message-ID", ""))
        with self.lock:
            self.counts.accepted += 1
            if message_id and message_id in self.seen:
                self.counts.duplicates += 1
                return "250 OK: already accepted under this Message-ID"
            self.maildir.add(raw)
            if message_id:
                self.seen.add(message_id)
            self.counts.stored += 1
        return "250 OK: stored"


class LocalMailServer:
    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir_path = maildir
        maildir.parent.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(maildir, create=True)
        held = {str(m.get("Message-ID", "")) for m in box}
        self._handler = _Handler(box, {h for h in held if h})
        self._controller = Controller(self._handler, hostname=host, port=port or free_port())
        self.host = host

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def counts(self) -> Counts:
        return self._handler.counts

    def set_fault(self, fault: Fault | None) -> None:
        self._handler.fault = fault

    def start(self) -> None:
        # aiosmtpd logs each envelope's addresses at INFO: the maildir holds the mail, the
        # process's log (which privacy tests read) should not copy who it was for.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[Message]:
        """Everything in the maildir, parsed (modern email policy)."""
        box = mailbox.Maildir(self.maildir_path, create=False)
        return [message_from_bytes(m.as_bytes(), policy=default) for m in box]

    def __enter__(self) -> LocalMailServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def refuse_with(reply: str) -> Fault:
    async def fault(server: SMTP, envelope: Envelope) -> str | None:
        return reply

    return fault


def stall(seconds: float) -> Fault:
    async def fault(server: SMTP, envelope: Envelope) -> str | None:
        await asyncio.sleep(seconds)
        return None

    return fault


def hang_up() -> Fault:
    """Drop the connection after the message's data, before answering."""

    async def fault(server: SMTP, envelope: Envelope) -> str | None:
        assert server.transport is not None
        server.transport.close()
        return "421 closing"

    return fault
