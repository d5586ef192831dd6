"""The mail relay, over SMTP with aiosmtplib: STARTTLS or implicit TLS, and a login when
configured. What went wrong is told as temporary (try again later) or permanent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

import aiosmtplib

from telemachus.shared.runtime.settings import ServiceSettings


class MailRefused(Exception):
    """The relay did not take this message. `permanent`: trying again will not help
    (a 5xx answer: no such mailbox, message refused); else try later."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class RelayUnavailable(Exception):
    """No conversation with the relay: refused, timed out or dropped. Nothing was sent on
    this connection after the failure; every message waiting for it is tried again later."""


def _refusal(error: aiosmtplib.SMTPResponseException) -> MailRefused:
    code = error.code
    return MailRefused(f"{code} {error.message}".strip(), permanent=500 <= code < 600)


class SmtpConnection:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    async def send(self, message: EmailMessage) -> None:
        try:
            await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = error.recipients
            permanent = all(500 <= r.code < 600 for r in refusals)
            detail = "; ".join(f"{r.code} {r.message}" for r in refusals)
            # The envelope was refused, the session is fine: reset it for the next message.
            await self._reset()
            raise MailRefused(detail, permanent=permanent) from error
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as error:
            raise RelayUnavailable(str(error) or type(error).__name__) from error
        except aiosmtplib.SMTPResponseException as error:
            await self._reset()
            raise _refusal(error) from error

    async def _reset(self) -> None:
        try:
            await self._client.rset()
        except aiosmtplib.SMTPException as error:
            raise RelayUnavailable(f"the relay failed after a refusal: {error}") from error


class SmtpRelay:
    def __init__(self, settings: ServiceSettings) -> None:
        if settings.smtp_host is None:
            raise ValueError("no SMTP host")
        self._settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        password = (
            settings.smtp_password_file.read_text().strip() if settings.smtp_password_file else None
        )
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout_seconds,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[SmtpConnection]:
        client = self._client()
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as error:
            raise RelayUnavailable(f"{error.code} {error.message}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise RelayUnavailable(str(error)) from error
        try:
            yield SmtpConnection(client)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
