"""Identity's domain and publishing, without I/O: consent, erasure, program changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from telemachus.identity.domain.invitations import Invitation
from telemachus.identity.domain.participants import (
    Participant,
    ShareableField,
    Tombstone,
)
from telemachus.identity.domain.programs import Program
from telemachus.identity.service_layer.publishing import IdentityPublisher
from telemachus.shared.contracts.identity import (
    ParticipantEnrolledV1,
    ParticipantEnrolledV2,
    ParticipantWithdrawnV1,
    ProfileUpdatedV1,
    ProfileUpdatedV2,
    ProgramUpdatedV1,
)
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.errors import Conflict, Rejected
from telemachus.shared.security.keys import development_trust
from telemachus.shared.security.sealing import SealError

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
TOPICS = {"apps", "e-medicine", "genetic-analysis"}
F = ShareableField
PAIRING_FIELDS = [F.CAREER_STAGE, F.TOPICS_OFFERED, F.TOPICS_SOUGHT]
TRUST, KEYS = development_trust(
    [
        ("hospital", "Hospital", InstitutionKind.HOSPITAL),
        ("uni", "University", InstitutionKind.UNIVERSITY),
        ("lab", "Lab", InstitutionKind.RESEARCH_CENTRE),
    ]
)
PUBLISHER = IdentityPublisher(b"k" * 32, TRUST, clock=lambda: NOW)


def program(**overrides: Any) -> Program:
    values: dict[str, Any] = dict(
        lead_institution="hospital",
        partner_institutions=["uni"],
        title="P",
        topics=["apps", "e-medicine"],
        pairing_mode="assigned",
        relationship_weeks=12,
        planned_sessions=6,
        reporting_threshold=5,
        enrolment_opens=date(2026, 2, 1),
        enrolment_closes=date(2026, 4, 1),
    )
    values.update(overrides)
    return Program.publish(known_topics=TOPICS, **values)


def participant(home: str = "uni", **overrides: Any) -> Participant:
    values: dict[str, Any] = dict(
        id="abcdefgh1234",
        home_institution=home,
        subject="ben@u.example",
        registered_at=NOW,
        display_name="Ben",
        work_email="ben@u.example",
        profession="research",
        career_stage=2,
        department="Informatics",
        topics_offered=[{"topic": "apps", "proficiency": 5}],
        availability={
            "time_zone": "Europe/London",
            "slots": [{"day": "mon", "start": "09:00", "end": "11:00"}],
        },
    )
    values.update(overrides)
    return Participant(**values)


def test_enrolment_shares_only_consented_fields_under_a_pseudonym() -> None:
    p, prog = participant(), program()
    p.enrol(prog, [*PAIRING_FIELDS, F.DEPARTMENT], NOW)
    wire = PUBLISHER(p.pop_events()[0])
    assert isinstance(wire, ParticipantEnrolledV2)
    assert wire.participant_ref == "uni:abcdefgh1234"
    # Sealed for the program's lead: the home and the third member cannot open it.
    assert wire.profile.recipient == "hospital"
    for other in ("uni", "lab"):
        with pytest.raises(SealError):
            wire.opened(KEYS[other])
    opened = wire.opened(KEYS["hospital"])
    assert isinstance(opened, ParticipantEnrolledV1)
    profile = opened.profile.model_dump(exclude_defaults=True)
    assert set(profile) == {"career_stage", "topics_offered", "department_code"}
    text = wire.model_dump_json()
    assert "Ben" not in text and "@" not in text and "Informatics" not in text
    assert "career_stage" not in wire.profile.model_dump_json()  # names of fields too
    # The same department gives the same code, whatever its spelling of spaces and case.
    assert PUBLISHER.department_code(" informatics ") == profile["department_code"]


def test_enrolment_rules() -> None:
    prog = program()
    with pytest.raises(Rejected, match="not a partner"):
        participant(home="elsewhere").enrol(prog, PAIRING_FIELDS, NOW)
    with pytest.raises(Rejected, match="enrolment is open from"):
        participant().enrol(prog, PAIRING_FIELDS, datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(Rejected, match="none of the program's topics"):
        participant().enrol(program(topics=["genetic-analysis"]), PAIRING_FIELDS, NOW)
    with pytest.raises(Rejected, match="pairing needs") as missing:
        participant().enrol(prog, [F.CAREER_STAGE], NOW)
    assert missing.value.field == "consented_fields"
    p = participant()
    p.enrol(prog, PAIRING_FIELDS, NOW)
    with pytest.raises(Conflict, match="already enrolled"):
        p.enrol(prog, PAIRING_FIELDS, NOW)


def test_profile_changes_reach_only_programs_that_were_given_the_field() -> None:
    p = participant()
    first, second = program(), program(title="Q")
    p.enrol(first, [*PAIRING_FIELDS, F.LANGUAGES], NOW)
    p.enrol(second, PAIRING_FIELDS, NOW)
    p.pop_events()
    assert p.update_profile({"languages": ["en", "fr"], "display_name": "Benjamin"}) == [
        "languages",
        "display_name",
    ]
    updates = [PUBLISHER(e) for e in p.pop_events()]
    assert [type(u) for u in updates] == [ProfileUpdatedV2]
    assert isinstance(updates[0], ProfileUpdatedV2)
    opened = updates[0].opened(KEYS["hospital"])
    assert isinstance(opened, ProfileUpdatedV1)
    assert opened.program_id == first.id and opened.profile.languages == ["en", "fr"]
    p.update_profile({"display_name": "Ben again"})
    assert p.pop_events() == []  # a name is never shared
    # The same values again, as a request body carries them, change nothing.
    same = {"languages": ["en", "fr"], "topics_offered": [{"topic": "apps", "proficiency": 5}]}
    assert p.update_profile(same) == [] and p.pop_events() == []


def test_withdrawal_then_erasure_leaves_a_tombstone_without_personal_data() -> None:
    p = participant()
    first, second = program(), program(title="Q")
    p.enrol(first, PAIRING_FIELDS, NOW)
    p.enrol(second, PAIRING_FIELDS, NOW)
    p.withdraw(first.id, NOW)
    p.pop_events()
    with pytest.raises(Conflict):
        p.withdraw(first.id, NOW)
    tombstone = Tombstone.erase(p, NOW, "participant")
    withdrawn = [PUBLISHER(e) for e in tombstone.pop_events()]
    assert [
        (w.program_id, w.erased) for w in withdrawn if isinstance(w, ParticipantWithdrawnV1)
    ] == [(second.id, True)]
    assert len(withdrawn) == 1
    stored = tombstone.model_dump_json()
    for personal in ("Ben", "ben@u.example", "Informatics", "research", "apps", "London"):
        assert personal not in stored


def test_program_changes_only_tighten_what_people_consented_under() -> None:
    prog = program()
    prog.pop_events()
    with pytest.raises(Rejected) as removed:
        prog.update({"topics": ["apps"]}, TOPICS)
    assert removed.value.field == "topics"
    with pytest.raises(Rejected) as lowered:
        prog.update({"reporting_threshold": 3}, TOPICS)
    assert lowered.value.field == "reporting_threshold"
    with pytest.raises(Rejected) as unknown:
        prog.update({"topics": ["apps", "e-medicine", "juggling"]}, TOPICS)
    assert unknown.value.field == "topics"
    assert prog.pop_events() == [] and prog.topics == ["apps", "e-medicine"]
    prog.update({"reporting_threshold": 8, "title": "P"}, TOPICS)
    (updated,) = [PUBLISHER(e) for e in prog.pop_events()]
    assert isinstance(updated, ProgramUpdatedV1) and updated.reporting_threshold == 8


def test_program_rules_name_the_field() -> None:
    with pytest.raises(Rejected) as lead_partner:
        program(partner_institutions=["hospital"])
    assert lead_partner.value.field == "partner_institutions"
    with pytest.raises(Rejected) as twice:
        program(topics=["apps", "apps"])
    assert twice.value.field == "topics"


def test_an_invitation_can_be_accepted_until_it_expires_and_not_after() -> None:
    invited = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    invitation = Invitation.issue("prog-1", "person-1", "coord@x", invited, days=21)
    invitation.check_open(invited + timedelta(days=20, hours=23))
    with pytest.raises(Conflict, match="expired at 2026-11-22T09:00:00"):
        invitation.check_open(invited + timedelta(days=21))
