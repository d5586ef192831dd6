"""What happened inside pairing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from telemachus.pairing.domain.model import Pairing, Round


@dataclass(frozen=True)
class PairingProposed:
    pairing: Pairing


@dataclass(frozen=True)
class PairingConfirmed:
    pairing: Pairing
    confirmed_at: datetime


@dataclass(frozen=True)
class PairingDeclined:
    pairing: Pairing
    reason: Literal["declined", "withdrawn"]
    at: datetime


@dataclass(frozen=True)
class PairingExpired:
    pairing: Pairing
    at: datetime


@dataclass(frozen=True)
class RoundPublished:
    round: Round
