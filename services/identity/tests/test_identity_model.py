from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from telemachus.identity.domain.model import Participant, Program, ShareableField
from telemachus.identity.service_layer.publishing import to_wire
from telemachus.shared.contracts.identity import ParticipantEnrolledV1
from telemachus.shared.errors import Conflict, Rejected

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


def program(**overrides: object) -> Program:
    values: dict = dict(
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
    return Program.publish(**values)


def participant(home: str = "uni") -> Participant:
    return Participant(
        id="abcdefgh1234",
        home_institution=home,
        display_name="Ben",
        work_email="b@u.example",
        profession="research",
        career_stage=2,
        department="Informatics",
        topics_offered=[{"topic": "apps", "proficiency": 5}],
    )


def test_enrolment_shares_only_consented_fields_under_a_pseudonym() -> None:
    p, prog = participant(), program()
    p.enrol(prog, [ShareableField.CAREER_STAGE, ShareableField.TOPICS_OFFERED], NOW)
    wire = to_wire(p.pop_events()[0])
    assert isinstance(wire, ParticipantEnrolledV1)
    assert wire.participant_ref == "uni:abcdefgh1234"
    assert wire.profile.model_dump(exclude_defaults=True) == {
        "career_stage": 2,
        "topics_offered": [{"topic": "apps", "proficiency": 5}],
    }
    assert "Ben" not in wire.model_dump_json() and "@" not in wire.model_dump_json()


def test_enrolment_rules() -> None:
    prog = program()
    with pytest.raises(Rejected, match="not a partner"):
        participant(home="elsewhere").enrol(prog, [ShareableField.CAREER_STAGE], NOW)
    with pytest.raises(Rejected, match="enrolment is open from"):
        participant().enrol(prog, [ShareableField.CAREER_STAGE], datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(Rejected, match="none of the program's topics"):
        participant().enrol(
            program(topics=["genetic-analysis"]), [ShareableField.CAREER_STAGE], NOW
        )
    p = participant()
    p.enrol(prog, [ShareableField.CAREER_STAGE], NOW)
    with pytest.raises(Conflict, match="already enrolled"):
        p.enrol(prog, [ShareableField.CAREER_STAGE], NOW)


def test_program_rules_name_the_field() -> None:
    with pytest.raises(Rejected) as lead_partner:
        program(partner_institutions=["hospital"])
    assert lead_partner.value.field == "partner_institutions"
    with pytest.raises(Rejected) as twice:
        program(topics=["apps", "apps"])
    assert twice.value.field == "topics"
