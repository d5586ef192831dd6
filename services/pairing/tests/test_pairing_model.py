"""Rounds and pairings: the lifecycle a coordinator and two participants walk through."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from telemachus.pairing.domain import events
from telemachus.pairing.domain.model import (
    Candidate,
    Decision,
    Explanation,
    Offer,
    Pairing,
    PairingRules,
    PairingStatus,
    PairRef,
    Program,
    ProposedPair,
    Round,
    RoundStatus,
)
from telemachus.pairing.service_layer.pools import round_pool
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Conflict, Forbidden, Rejected

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
EXPLAINED = Explanation(topic="apps", score=20, terms=[], rules=[])


def new_round(mode: PairingMode = PairingMode.ASSIGNED) -> Round:
    return Round(id="r1", program_id=PROGRAM.id, mode=mode, created_at=NOW, created_by="c")


def published() -> tuple[Round, Pairing]:
    round_ = new_round()
    proposal = ProposedPair(
        mentor_ref="uni:mentor01",
        mentee_ref="hos:mentee01",
        topic="apps",
        score=20,
        explanation=EXPLAINED,
    )
    round_.record_outcome("auction-optimal-v1", 2, [proposal], {}, NOW)
    (pairing,) = round_.publish(PROGRAM, NOW)
    return round_, pairing


def test_a_round_is_published_only_from_review_and_then_is_closed() -> None:
    round_ = new_round()
    with pytest.raises(Conflict, match="compute it first"):
        round_.publish(PROGRAM, NOW)
    round_, pairing = published()
    assert round_.status is RoundStatus.PUBLISHED and round_.pairing_ids == [pairing.id]
    assert [type(e) for e in round_.pop_events()] == [events.RoundPublished]
    assert [type(e) for e in pairing.pop_events()] == [events.PairingProposed]
    assert pairing.respond_by == NOW + timedelta(days=7)
    with pytest.raises(Conflict, match="published"):
        round_.pin(PairRef(mentor_ref="uni:mentor01", mentee_ref="hos:mentee01"))


def test_changing_pins_or_rankings_sends_a_computed_round_back_to_draft() -> None:
    round_ = new_round(PairingMode.RANKED)
    round_.record_outcome("x", 0, [], {"hos:mentee01": "why"}, NOW)
    round_.rank("hos:mentee01", ["uni:mentor01"])
    assert round_.status is RoundStatus.DRAFT and round_.unmatched == {}
    with pytest.raises(Rejected, match="themselves"):
        round_.rank("hos:mentee01", ["hos:mentee01"])
    pair = PairRef(mentor_ref="uni:mentor01", mentee_ref="hos:mentee01")
    round_.exclude(pair)
    with pytest.raises(Conflict, match="excluded"):
        round_.pin(pair)
    with pytest.raises(Rejected, match="do not rank"):
        new_round(PairingMode.ASSIGNED).rank("hos:mentee01", [])


def test_both_accepting_confirms_and_records_the_fact_once() -> None:
    _, pairing = published()
    pairing.pop_events()
    pairing.respond("hos:mentee01", Decision.ACCEPT, NOW)
    assert pairing.status is PairingStatus.PROPOSED and pairing.pop_events() == []
    with pytest.raises(Conflict, match="already answered"):
        pairing.respond("hos:mentee01", Decision.DECLINE, NOW)
    pairing.respond("uni:mentor01", Decision.ACCEPT, NOW)
    assert pairing.status is PairingStatus.CONFIRMED
    assert [type(e) for e in pairing.pop_events()] == [events.PairingConfirmed]


def test_outsiders_and_late_answers_are_refused_and_late_proposals_expire() -> None:
    _, pairing = published()
    with pytest.raises(Forbidden):
        pairing.respond("xx:other001", Decision.ACCEPT, NOW)
    late = NOW + timedelta(days=8)
    with pytest.raises(Conflict, match="due by"):
        pairing.respond("hos:mentee01", Decision.ACCEPT, late)
    assert not pairing.expire(NOW)
    pairing.pop_events()
    assert pairing.expire(late) and pairing.status is PairingStatus.EXPIRED
    assert [type(e) for e in pairing.pop_events()] == [events.PairingExpired]
    assert not pairing.status.live


def test_a_decline_or_a_withdrawal_ends_the_proposal() -> None:
    _, pairing = published()
    pairing.respond("uni:mentor01", Decision.DECLINE, NOW)
    assert pairing.status is PairingStatus.DECLINED
    _, other = published()
    other.pop_events()
    other.withdraw(NOW)
    assert other.status is PairingStatus.WITHDRAWN
    (declined,) = other.pop_events()
    assert isinstance(declined, events.PairingDeclined) and declined.reason == "withdrawn"


def test_a_leaver_takes_their_rankings_and_unmatched_reason_with_them() -> None:
    round_ = new_round(PairingMode.RANKED)
    round_.rankings = {"u:leaver01": ["h:a0000001"], "u:stays001": ["u:leaver01"]}
    round_.unmatched = {"u:leaver01": "no shared topic", "u:stays001": "availability"}
    round_.forget("u:leaver01")
    assert round_.rankings == {"u:stays001": ["u:leaver01"]}  # others' choices are theirs
    assert round_.unmatched == {"u:stays001": "availability"}


# Places left in a round's pool: what a person's live pairings leave them.


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
