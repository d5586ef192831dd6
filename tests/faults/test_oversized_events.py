"""Issue 15, fault 2: an event of megabytes was neither handled nor dead-lettered (its
dead-letter copy was too large to publish, retried forever) and every event after it on
that topic waited; a record with a header that is not UTF-8 lost all its headers in the
dead-letter copy. On the real broker and store."""

from __future__ import annotations

import base64
import hashlib
import secrets

from aiokafka import AIOKafkaProducer, ConsumerRecord

from telemachus.shared.contracts.topics import dead_letter_topic
from telemachus.shared.runtime import dead_letter
from telemachus.shared.testing.backends import Backend
from telemachus.shared.testing.kafka import eventually, headers_of, produce_event, read_topic
from telemachus.shared.testing.samples import envelope, program_published
from tests.helpers.counting_service import CountingService

MB = 1024 * 1024


async def test_events_of_1_5_and_20_mb_are_dead_lettered_by_reference_and_the_next_flows(
    backend: Backend, source: str, counting: CountingService
) -> None:
    event = program_published("inst-a:after-the-big-ones")
    headers = envelope(event, source)
    bodies = [secrets.token_bytes(size) for size in (1 * MB, 5 * MB, 20 * MB)]
    producer = AIOKafkaProducer(
        bootstrap_servers=backend.kafka_bootstrap_servers,
        enable_idempotence=False,
        max_request_size=32 * MB,
    )
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(
                source, body, headers=[(k, v.encode()) for k, v in headers.items()]
            )
    finally:
        await producer.stop()
    await produce_event(backend.kafka_bootstrap_servers, source, event, headers)

    assert await eventually(lambda: counting.count(event.program_id), within=60) == 1
    letters = await eventually(
        lambda: _letters(backend, counting, "oversized", len(bodies)), within=30
    )
    for body, letter in zip(bodies, letters, strict=True):
        h = headers_of(letter)
        assert h[dead_letter.TRUNCATED] == "true"
        assert int(h[dead_letter.ORIGINAL_BYTES]) == len(body)
        assert h[dead_letter.ORIGINAL_SHA256] == hashlib.sha256(body).hexdigest()
        assert letter.value == body[: dead_letter.MAX_BODY_BYTES]
        assert h["ce_id"] == headers["ce_id"]  # the original headers travel with it
    await eventually(lambda: _true(counting.committed() == len(bodies) + 1))


async def test_a_header_that_is_not_utf8_is_kept_in_the_dead_letter_copy(
    backend: Backend, source: str, counting: CountingService
) -> None:
    event = program_published("inst-a:odd-header")
    headers = [(k, v.encode()) for k, v in envelope(event, source).items()]
    odd = b"\xff\xfe not text"
    producer = AIOKafkaProducer(
        bootstrap_servers=backend.kafka_bootstrap_servers, enable_idempotence=False
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            source, event.model_dump_json().encode(), headers=[*headers, ("x-odd", odd)]
        )
    finally:
        await producer.stop()
    [letter] = await eventually(lambda: _letters(backend, counting, "invalid-envelope", 1))
    h = headers_of(letter)
    assert h[dead_letter.BASE64_HEADERS] == "x-odd"
    assert base64.b64decode(h["x-odd"]) == odd
    assert h["ce_type"] == event.event_type  # the other headers are all there


async def _letters(
    backend: Backend, counting: CountingService, reason: str, count: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """This consumer's dead letters of a reason, in the order of the originals."""
    topic = dead_letter_topic(counting.settings.institution, counting.settings.service)
    found = [
        r
        for r in await read_topic(backend.kafka_bootstrap_servers, topic)
        if headers_of(r)[dead_letter.REASON] == reason
    ]
    found.sort(key=lambda r: int(headers_of(r)[dead_letter.ORIGINAL_OFFSET]))
    return found if len(found) == count else []


async def _true(value: bool) -> bool:
    return value
