from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemachus.pairing.domain import events
from telemachus.pairing.domain.model import Decision, Pairing, PairingStatus, Program
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Conflict, Rejected

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def proposed() -> Pairing:
    program = Program(
        id="h:prog0001",
        partner_institutions=[],
        topics=["apps"],
        pairing_mode="assigned",
        relationship_weeks=12,
        planned_sessions=6,
    )
    return Pairing.propose(
        round_id="r",
        program=program,
        mode=PairingMode.ASSIGNED,
        mentor_ref="u:m",
        mentee_ref="h:s",
        topic="apps",
        score=1.0,
        explanation=[],
        now=NOW,
    )


def test_both_accepting_confirms_and_records_the_fact_once() -> None:
    pairing = proposed()
    assert [type(e) for e in pairing.pop_events()] == [events.PairingProposed]
    pairing.respond("h:s", Decision.ACCEPT, NOW)
    assert pairing.status is PairingStatus.PROPOSED and pairing.pop_events() == []
    pairing.respond("u:m", Decision.ACCEPT, NOW)
    assert pairing.status is PairingStatus.CONFIRMED
    assert [type(e) for e in pairing.pop_events()] == [events.PairingConfirmed]
    with pytest.raises(Conflict, match="already confirmed"):
        pairing.respond("u:m", Decision.DECLINE, NOW)


def test_outsiders_and_late_answers_are_refused() -> None:
    pairing = proposed()
    with pytest.raises(Rejected) as refused:
        pairing.respond("x:other", Decision.ACCEPT, NOW)
    assert refused.value.field == "participant_ref"
    with pytest.raises(Conflict, match="due by"):
        pairing.respond("h:s", Decision.ACCEPT, NOW + timedelta(days=30))


def test_a_decline_ends_the_proposal() -> None:
    pairing = proposed()
    pairing.respond("u:m", Decision.DECLINE, NOW)
    assert pairing.status is PairingStatus.DECLINED
