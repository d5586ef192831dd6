"""Noticing a broker that lost its topics, and recovering from it without a restart.

The local broker keeps everything in memory: when it restarts, every topic, record, group
and committed offset is gone. Kafka clients then ask it for the topics they read, and it
creates them anew with its own partition count; a consumer group that joined before may
never be given the new partitions, and nothing tells the service. The sign here is the
service's dead-letter topic: no client reads it, so none creates it again. When it is gone,
the service creates its topics again (with their partitions) and makes each consumer anew:
it joins its group afresh and reads from the group's committed offsets, or from the start
where the broker has none; the inbox skips what was handled already. What the broker lost
of the service's own events its relay publishes again (lost_records).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)
# One outage, one recovery: the watch and the relay may each see it within seconds.
RECOVERY_WINDOW_SECONDS = 60.0


class BrokerWatch:
    def __init__(
        self,
        topic_names: Callable[[], Awaitable[set[str]]],
        sentinel: str,
        recreate_topics: Callable[[], Awaitable[object]],
        restart_consumers: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._topic_names = topic_names
        self._sentinel = sentinel
        self._recreate_topics = recreate_topics
        self._restart_consumers = restart_consumers
        self._clock = clock
        self._recovered_at = float("-inf")
        self.recoveries = 0

    async def check(self) -> None:
        try:
            if self._sentinel in await self._topic_names():
                return
        except KafkaError:
            return  # the broker is away: readiness says so; this looks again next time
        await self.recover(f"{self._sentinel} is gone")

    async def recover(self, why: str) -> None:
        """Also called by the relay when it finds records lost: it may re-create the
        topics (the sentinel too) before this watch looks. Once per outage."""
        if self._clock() - self._recovered_at < RECOVERY_WINDOW_SECONDS:
            return
        self._recovered_at = self._clock()
        log.warning(
            "the broker lost this service's topics (%s): creating them again and joining "
            "every consumer group afresh",
            why,
        )
        try:
            await self._recreate_topics()
            await self._restart_consumers()
        except BaseException:
            # Not recovered (a broker just back may refuse the first creation): the next
            # look must try again, not sit out the window.
            self._recovered_at = float("-inf")
            raise
        self.recoveries += 1
