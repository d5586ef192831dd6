"""The broker watch recovers once per outage, and an attempt that fails does not count as
that once: the broker that has just come back may refuse the first topic creation, and the
service must try again at its next look, not sit out the recovery window unrecovered."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError

from telemachus.shared.runtime.broker_watch import BrokerWatch

SENTINEL = "telemachus.a.pairing.dead-letter"


class Broker:
    def __init__(self) -> None:
        self.topics: set[str] = {SENTINEL}
        self.refusals = 0  # topic creations still to refuse
        self.restarts = 0

    async def topic_names(self) -> set[str]:
        return set(self.topics)

    async def recreate(self) -> list[str]:
        if self.refusals:
            self.refusals -= 1
            raise KafkaConnectionError("not ready yet")
        self.topics.add(SENTINEL)
        return [SENTINEL]

    async def restart_consumers(self) -> None:
        self.restarts += 1


def watch_of(broker: Broker, now: list[float]) -> BrokerWatch:
    return BrokerWatch(
        broker.topic_names,
        SENTINEL,
        broker.recreate,
        broker.restart_consumers,
        clock=lambda: now[0],
    )


async def test_one_outage_is_recovered_once_whoever_notices_it() -> None:
    broker, now = Broker(), [0.0]
    watch = watch_of(broker, now)
    await watch.check()
    assert watch.recoveries == broker.restarts == 0
    broker.topics.clear()  # the broker restarted empty
    await watch.check()
    now[0] += 5
    await watch.recover("the relay found records lost")  # the same outage, seen again
    assert watch.recoveries == broker.restarts == 1


async def test_a_failed_recovery_is_tried_again_at_the_next_look() -> None:
    broker, now = Broker(), [0.0]
    watch = watch_of(broker, now)
    broker.topics.clear()
    broker.refusals = 1
    with pytest.raises(KafkaConnectionError):  # the periodic job logs it, looks again
        await watch.check()
    assert watch.recoveries == 0
    now[0] += 5  # well inside the window that keeps one outage to one recovery
    await watch.check()
    assert watch.recoveries == broker.restarts == 1
    assert SENTINEL in broker.topics
