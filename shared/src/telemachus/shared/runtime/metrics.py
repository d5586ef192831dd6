"""The metrics ops teams watch, per service (resource attributes name it and its
institution): events handled and their handler latency, events dead-lettered by reason,
the outbox backlog and the age of its oldest row, the consumer lag per partition, and how
long a consumer has been unable to go on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Meter, Observation

# (topic, partition) -> records not yet handled, for one consumer group.
LagSource = Callable[[], Mapping[tuple[str, int], int]]
# subscription -> seconds it has been waiting on the infrastructure (0 when it goes on).
StallSource = Callable[[], Mapping[str, float]]


class ServiceMetrics:
    def __init__(self, meter: Meter) -> None:
        self.events_handled = meter.create_counter(
            "telemachus.events.handled",
            unit="{event}",
            description="events a handler took in, by type and outcome (handled, refused, failed)",
        )
        self.handler_duration = meter.create_histogram(
            "telemachus.handler.duration",
            unit="s",
            description="time a handler took per event, retries included",
        )
        self.dead_lettered = meter.create_counter(
            "telemachus.events.dead_lettered",
            unit="{event}",
            description="events sent to the dead-letter topic, by reason",
        )
        self.mail = meter.create_counter(
            "telemachus.mail.attempts",
            unit="{mail}",
            description="e-mails identity's notifier tried, by outcome (sent, retry, dead, "
            "dropped) and whether an interrupted attempt came before (resent)",
        )
        self.outbox_backlog = 0
        meter.create_observable_gauge(
            "telemachus.outbox.backlog",
            callbacks=[self._backlog],
            unit="{event}",
            description="outbox rows committed but not yet published",
        )
        self._lag_sources: list[tuple[str, LagSource]] = []
        meter.create_observable_gauge(
            "telemachus.consumer.lag",
            callbacks=[self._lag],
            unit="{event}",
            description="records on a partition not yet handled by this consumer group",
        )

        self.outbox_oldest_seconds = 0.0
        meter.create_observable_gauge(
            "telemachus.outbox.oldest_age",
            callbacks=[self._oldest],
            unit="s",
            description="how long the oldest outbox row not yet published has waited",
        )
        self._stall_sources: list[StallSource] = []
        meter.create_observable_gauge(
            "telemachus.consumer.stalled",
            callbacks=[self._stalled],
            unit="s",
            description="how long a subscription has waited on the store or broker (0: going)",
        )

    def watch_stalls(self, source: StallSource) -> None:
        self._stall_sources.append(source)

    def _oldest(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self.outbox_oldest_seconds)

    def _stalled(self, options: CallbackOptions) -> Iterable[Observation]:
        for source in self._stall_sources:
            for subscription, seconds in source().items():
                yield Observation(seconds, {"subscription": subscription})

    def watch_lag(self, group: str, source: LagSource) -> None:
        self._lag_sources.append((group, source))

    def _backlog(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self.outbox_backlog)

    def _lag(self, options: CallbackOptions) -> Iterable[Observation]:
        for group, source in self._lag_sources:
            for (topic, partition), lag in source().items():
                yield Observation(lag, {"group": group, "topic": topic, "partition": partition})
