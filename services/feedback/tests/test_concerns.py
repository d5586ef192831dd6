"""Who may read and act on a concern, its deadline and escalation, and what its reporter
sees: the domain's rules on their own (the same rules run end to end in
tests/test_concern_safeguarding.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from telemachus.feedback.domain import events
from telemachus.feedback.domain.concerns import (
    Concern,
    ConcernCategory,
    ConcernOutcome,
    ConcernProgress,
    ConcernStatus,
    Reader,
)
from telemachus.feedback.domain.model import Relationship
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Forbidden, Rejected

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
JUNIOR, SENIOR, MANAGER = "uni:junior", "hosp:senior", "uni:manager"
RELATIONSHIP = Relationship(
    id="rel-1",
    program_id="hosp:prog01",
    mode=PairingMode.ASSIGNED,
    mentor_ref=JUNIOR,
    mentee_ref=SENIOR,
    topic="apps",
    starts_on=date(2026, 11, 1),
)


def reported(line: list[str] | None = None) -> Concern:
    return Concern.report(
        RELATIONSHIP,
        JUNIOR,
        ConcernCategory.POWER_IMBALANCE,
        "pressure",
        NOW,
        respond_within=timedelta(hours=48),
        reporting_line=line,
    )


def coordinator(institution: str, ref: str | None = None) -> Reader:
    return Reader(institution, ref, vouched=True, safeguarding=False, sees_reporter=True)


def contact(institution: str, ref: str | None = None) -> Reader:
    return Reader(institution, ref, vouched=True, safeguarding=True, sees_reporter=False)


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(coordinator("hosp", SENIOR), id="the other party, a lead coordinator"),
        pytest.param(contact("uni", JUNIOR), id="the reporter, as a contact"),
        pytest.param(contact("uni", MANAGER), id="the line manager, a safeguarding contact"),
        pytest.param(coordinator("uni", MANAGER), id="the line manager, a coordinator"),
        pytest.param(coordinator("uni", "uni:grand-manager"), id="higher up the line"),
        pytest.param(contact("hosp"), id="another institution's contact"),
        pytest.param(
            Reader("uni", None, vouched=True, safeguarding=False, sees_reporter=False),
            id="a coordinator who does not see the reporter",
        ),
        pytest.param(
            Reader("hosp", None, vouched=False, safeguarding=False, sees_reporter=True),
            id="an IdP token that says nothing of the roster",
        ),
    ],
)
def test_these_never_read_a_concern(who: Reader) -> None:
    concern = reported([MANAGER, "uni:grand-manager"])
    assert concern.refusal(who) is not None
    with pytest.raises(Forbidden):
        concern.check_reader(who)


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(contact("uni"), id="the reporter's institution's contact"),
        pytest.param(contact("uni", "uni:colleague"), id="a contact on the roster"),
        pytest.param(coordinator("hosp"), id="the lead's coordinator"),
        pytest.param(coordinator("hosp", "hosp:someone"), id="a lead coordinator on the roster"),
        pytest.param(coordinator("uni", "uni:colleague"), id="a colleague outside the line"),
    ],
)
def test_those_who_act_on_it_read_it(who: Reader) -> None:
    assert reported([MANAGER]).refusal(who) is None


def test_an_unknown_reporting_line_keeps_it_from_the_reporters_roster_but_its_contacts() -> None:
    concern = reported(line=None)  # the junior did not share their line managers
    assert concern.refusal(coordinator("uni", "uni:colleague")) is not None
    assert concern.refusal(coordinator("uni")) is None  # staff off the roster manage no one
    assert concern.refusal(coordinator("hosp", "hosp:someone")) is None
    assert concern.refusal(contact("uni", "uni:colleague")) is None
    assert concern.refusal(coordinator("hosp", SENIOR)) is not None  # still a party


def test_a_concern_nobody_acknowledges_escalates_once_at_its_deadline() -> None:
    concern = reported()
    assert concern.respond_by == NOW + timedelta(hours=48)
    concern.escalate(NOW + timedelta(hours=47))
    assert concern.escalated_at is None
    concern.escalate(NOW + timedelta(hours=48))
    concern.escalate(NOW + timedelta(hours=60))
    assert concern.escalated_at == NOW + timedelta(hours=48)
    escalations = [e for e in concern.pop_events() if isinstance(e, events.ConcernEscalated)]
    assert len(escalations) == 1


def test_an_acknowledged_concern_does_not_escalate() -> None:
    concern = reported()
    concern.follow_up(ConcernStatus.ACKNOWLEDGED, "uni:coordinator-x", None, NOW)
    concern.escalate(NOW + timedelta(days=5))
    assert concern.escalated_at is None and not concern.overdue(NOW + timedelta(days=5))


def test_a_concern_is_resolved_with_an_outcome_and_only_then() -> None:
    concern = reported()
    with pytest.raises(Rejected, match="outcome"):
        concern.follow_up(ConcernStatus.RESOLVED, "uni:coordinator-x", None, NOW)
    with pytest.raises(Rejected, match="outcome"):
        concern.follow_up(
            ConcernStatus.IN_PROGRESS, "uni:coordinator-x", None, NOW, ConcernOutcome.REFERRED
        )
    concern.follow_up(
        ConcernStatus.RESOLVED, "uni:coordinator-x", "met both", NOW, ConcernOutcome.REFERRED
    )
    assert concern.outcome is ConcernOutcome.REFERRED


def test_the_reporter_sees_progress_not_who_acted_or_who_else_was_told() -> None:
    concern = reported([MANAGER])
    concern.follow_up(ConcernStatus.ACKNOWLEDGED, "uni:coordinator-x", "called them", NOW)
    seen = ConcernProgress.of(concern).model_dump_json()
    assert "acknowledged" in seen and "pressure" in seen  # their own words and the step
    for hidden in ("coordinator-x", "called them", MANAGER, SENIOR):
        assert hidden not in seen


def test_a_pause_is_held_until_resumed_or_resolved_and_its_events_say_so_once() -> None:
    concern = reported()
    concern.pop_events()
    concern.follow_up(ConcernStatus.IN_PROGRESS, "uni:coordinator-x", None, NOW, pause=True)
    concern.follow_up(ConcernStatus.IN_PROGRESS, "uni:coordinator-x", None, NOW, pause=True)
    assert [type(e) for e in concern.pop_events()] == [events.RelationshipPaused]
    hold = concern.hold_id
    assert hold and concern.id not in hold  # the public events cannot be tied to it
    with pytest.raises(Rejected, match="pause"):
        concern.follow_up(
            ConcernStatus.RESOLVED, "uni:coordinator-x", None, NOW, ConcernOutcome.SUPPORTED, True
        )
    concern.follow_up(
        ConcernStatus.RESOLVED, "uni:coordinator-x", None, NOW, ConcernOutcome.SUPPORTED
    )
    assert [type(e) for e in concern.pop_events()] == [events.RelationshipResumed]
    assert not concern.relationship_paused and concern.hold_id == hold


def test_a_relationship_that_ended_stays_paused_when_its_concern_is_resolved() -> None:
    concern = reported()
    concern.follow_up(ConcernStatus.IN_PROGRESS, "uni:coordinator-x", None, NOW, pause=True)
    concern.follow_up(
        ConcernStatus.RESOLVED,
        "uni:coordinator-x",
        None,
        NOW,
        ConcernOutcome.RELATIONSHIP_ENDED,
    )
    assert concern.relationship_paused


def test_a_leaver_leaves_no_reference_and_their_concern_no_line_that_points_at_them() -> None:
    theirs, about_them = reported([MANAGER]), reported([MANAGER])
    theirs.forget(JUNIOR, "uni:anon-1")
    assert JUNIOR not in theirs.model_dump_json() and MANAGER not in theirs.model_dump_json()
    assert theirs.text is None and theirs.reporting_line is None
    # Still no reading by the other party, nor by the junior's institution's roster.
    assert theirs.refusal(coordinator("hosp", SENIOR)) is not None
    assert theirs.refusal(coordinator("uni", MANAGER)) is not None
    about_them.forget(SENIOR, "hosp:anon-2")
    assert SENIOR not in about_them.model_dump_json()
    assert about_them.reporter_ref == JUNIOR and about_them.text == "pressure"
