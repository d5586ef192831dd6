"""Whether a time lies inside a person's weekly availability, in their own time zone.

Times are UTC instants; availability is weekly local slots in an IANA zone, so the same
local slot maps to different UTC hours on either side of a daylight-saving change.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.contracts.vocabulary import Weekday

DAYS = list(Weekday)


class Slot(BaseModel):
    model_config = ConfigDict(frozen=True)
    day: Weekday
    start: time
    end: time


class WeeklyAvailability(BaseModel):
    model_config = ConfigDict(frozen=True)
    time_zone: str
    slots: list[Slot] = Field(default_factory=list)

    def covers(self, starts_at: datetime, ends_at: datetime) -> bool:
        """True when [starts_at, ends_at) lies inside one slot, read in this zone."""
        zone = ZoneInfo(self.time_zone)
        start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        day = DAYS[start.weekday()]
        for slot in self.slots:
            if slot.day != day:
                continue
            # A slot ending at 00:00 runs to midnight.
            slot_end_ok = (
                end.date() == start.date() and (slot.end == time(0) or end.time() <= slot.end)
            ) or (slot.end == time(0) and end.time() == time(0) and end.date() > start.date())
            if start.time() >= slot.start and slot_end_ok:
                return True
        return False

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.time_zone))
