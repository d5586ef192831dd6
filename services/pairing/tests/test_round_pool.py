"""Places left in a round's pool: what a person's live pairings leave them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from telemachus.pairing.domain.model import (
    Candidate,
    Explanation,
    Offer,
    Pairing,
    PairingRules,
    PairingStatus,
    Program,
    Round,
)
from telemachus.pairing.service_layer.pools import round_pool
from telemachus.shared.contracts.vocabulary import PairingMode

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PROGRAM = Program(
    id="h:prog0001",
    partner_institutions=["u"],
    topics=["apps"],
    pairing_mode=PairingMode.ASSIGNED,
    relationship_weeks=12,
    planned_sessions=6,
    rules=PairingRules(respond_within_days=7),
)


def seat(k: int, mentor: str, mentee: str, circle_id: str | None, status: PairingStatus) -> Pairing:
    return Pairing(
        id=f"pairing{k}",
        round_id="r0",
        program_id=PROGRAM.id,
        mode=PairingMode.ASSIGNED,
        mentor_ref=mentor,
        mentee_ref=mentee,
        topic="apps",
        score=10,
        explanation=Explanation(topic="apps", score=10, terms=[], rules=[]),
        circle_id=circle_id,
        relationship_weeks=12,
        planned_sessions=6,
        status=status,
        respond_by=NOW,
    )


def places(history: list[Pairing], max_relationships: int = 3) -> int:
    lead = Candidate(
        id="c1",
        program_id=PROGRAM.id,
        participant_ref="h:lead",
        home_institution="h",
        topics_offered=[Offer(topic="apps", proficiency=4)],
        max_relationships=max_relationships,
    )
    round_ = Round(
        id="r1", program_id=PROGRAM.id, mode=PairingMode.ASSIGNED, created_at=NOW, created_by="c"
    )
    pool = round_pool("h", PROGRAM, [lead], history, round_, date(2026, 3, 2))
    return int(pool.capacity[0])


def test_a_circle_takes_one_of_its_leads_places_however_many_seats_it_has() -> None:
    """A lead who takes three relationships leads a circle of four seniors (four seats,
    one circle) and is in one pair: one place is left for the next round."""
    circle = [
        seat(k, "h:lead", f"u:senior{k}", "circle1", PairingStatus.CONFIRMED) for k in range(4)
    ]
    pair = seat(9, "h:lead", "u:other", None, PairingStatus.PROPOSED)
    assert places([*circle, pair]) == 1
    # Seats that closed hold nothing; a circle whose every seat closed holds no place.
    closed = [seat(k, "h:lead", f"u:s{k}", "circle2", PairingStatus.DECLINED) for k in range(3)]
    assert places([*circle, *closed]) == 2
