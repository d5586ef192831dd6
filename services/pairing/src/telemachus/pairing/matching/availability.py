"""Weekly availability as a bitmask of UTC half-hours, so overlap is an AND and a popcount.

A week has 336 half-hours; six 64-bit words hold them. Participants give their free time
in their own IANA zone; it is converted to UTC for the week the round runs in, so a
daylight-saving change between rounds moves the mask with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

HALF_HOURS_PER_WEEK = 7 * 48
WORDS = 6  # 6 x 64 = 384 >= 336 bits
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Mask = npt.NDArray[np.uint64]


def empty_mask() -> Mask:
    return np.zeros(WORDS, dtype=np.uint64)


def set_half_hours(mask: Mask, first: int, count: int) -> None:
    """Mark `count` half-hours from `first` (0 = Monday 00:00 UTC), wrapping at week end."""
    for k in range(count):
        bit = (first + k) % HALF_HOURS_PER_WEEK
        mask[bit // 64] |= np.uint64(1) << np.uint64(bit % 64)


def weekly_mask(slots: Iterable[tuple[str, time, time]], time_zone: str, week_of: date) -> Mask:
    """The UTC half-hours of local weekly slots (day, start, end) in the week of `week_of`.

    A slot counts the half-hours it fully covers; a slot that ends at 00:00 runs to
    midnight.
    """
    zone = ZoneInfo(time_zone)
    monday = week_of - timedelta(days=week_of.weekday())
    week_start = datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo("UTC"))
    mask = empty_mask()
    for day, start, end in slots:
        local_day = monday + timedelta(days=DAYS.index(day))
        begin = datetime.combine(local_day, start, tzinfo=zone)
        finish = datetime.combine(local_day, end, tzinfo=zone)
        if finish <= begin:
            finish += timedelta(days=1)
        offset_minutes = (begin - week_start).total_seconds() / 60
        first = int(-(-offset_minutes // 30))  # round up to the next whole half-hour
        last = int((finish - week_start).total_seconds() // 60 // 30)
        if last > first:
            set_half_hours(mask, first % HALF_HOURS_PER_WEEK, last - first)
    return mask


def overlap_half_hours(a: Mask, b: Mask) -> int:
    return int(np.bitwise_count(np.bitwise_and(a, b)).sum())
