"""The notifier's rules, wording and invitations, without a broker or store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from telemachus.identity.notifications.composer import Addressee, MailComposer, Titles
from telemachus.identity.notifications.notices import (
    Contact,
    Notice,
    NoticeKind,
    PartiesOf,
    Preferences,
    Ref,
    notice_id,
)
from telemachus.identity.notifications.recording import Contacts
from telemachus.identity.notifications.rules import plan_for
from telemachus.identity.notifications.wording import WORDING
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.feedback import (
    ConcernEscalatedV1,
    ConcernReportedV1,
    RelationshipPausedV1,
    RelationshipResumedV1,
)
from telemachus.shared.contracts.pairing import PairingProposedV1
from telemachus.shared.contracts.sessions import (
    SessionCancelledV1,
    SessionFactsV1,
    SessionScheduledV1,
)
from telemachus.shared.testing.catalogs import extracted, lost_placeholders, untranslated

IDENTITY_SOURCE = Path(__file__).resolve().parents[1] / "src" / "telemachus" / "identity"
NOW = datetime(2026, 3, 27, 12, tzinfo=UTC)
FRENCH = IDENTITY_SOURCE / "notifications" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def proposal() -> PairingProposedV1:
    return PairingProposedV1(
        pairing_id="pairing_1",
        round_id="round_1",
        program_id="hospital:program1",
        mode="assigned",
        mentor_ref="university:nurse01",
        mentee_ref="hospital:consultant01",
        topic="e-medicine",
        score=12.0,
        respond_by=NOW + timedelta(days=14),
    )


def session(kind: type[SessionScheduledV1] | type[SessionCancelledV1], n: int) -> SessionFactsV1:
    return kind(
        relationship_id="relationship_1",
        session_id="session_1",
        program_id="hospital:program1",
        mentor_ref="university:nurse01",
        mentee_ref="hospital:consultant01",
        starts_at=datetime(2026, 3, 31, 8, tzinfo=UTC),  # 09:00 in London after the DST change
        ends_at=datetime(2026, 3, 31, 9, tzinfo=UTC),
        format="virtual",
        sequence=n,
    )


def test_a_proposal_tells_each_side_its_role_and_deadline_but_never_the_other() -> None:
    plan = plan_for(proposal(), "hospital")
    assert [(i.to, i.kind) for i in plan.intents] == [
        (Ref("university:nurse01"), NoticeKind.PROPOSAL),
        (Ref("hospital:consultant01"), NoticeKind.PROPOSAL),
    ]
    for intent in plan.intents:
        assert not {"university:nurse01", "hospital:consultant01"} & set(intent.params.values())
    ending, unanswered = plan.reminders
    assert ending.due_at == NOW + timedelta(days=12) and ending.stale_after == NOW + timedelta(
        days=14
    )
    assert unanswered.to == ["contact:coordinators"]


def test_the_same_fact_makes_the_same_notice_and_another_fact_another() -> None:
    first = plan_for(session(SessionScheduledV1, 1), "hospital").intents[0]
    again = plan_for(session(SessionScheduledV1, 1), "hospital").intents[0]
    moved = plan_for(session(SessionCancelledV1, 2), "hospital").intents[0]
    assert notice_id("n", first.kind, first.fact) == notice_id("n", again.kind, again.fact)
    assert notice_id("n", first.kind, first.fact) != notice_id("n", moved.kind, moved.fact)


def test_a_concern_goes_to_the_designated_contact_only() -> None:
    event = ConcernReportedV1(concern_id="c1", program_id="hospital:program1", reported_at=NOW)
    (intent,) = plan_for(event, "hospital").intents
    assert intent.to == Contact("concerns") and intent.kind.required


def test_a_concern_goes_to_the_reporters_institution_and_escalates_there() -> None:
    reported = ConcernReportedV1(
        concern_id="c1",
        program_id="hospital:program1",
        reported_at=NOW,
        institution="university",
        respond_by=NOW + timedelta(hours=48),
    )
    (told,) = plan_for(reported, "hospital").intents
    assert told.to == Contact("concerns", "university")
    overdue = ConcernEscalatedV1(
        concern_id="c1",
        program_id="hospital:program1",
        institution="university",
        respond_by=NOW + timedelta(hours=48),
        escalated_at=NOW + timedelta(hours=49),
    )
    (escalated,) = plan_for(overdue, "hospital").intents
    assert escalated.to == Contact("escalation", "university") and escalated.kind.required
    assert escalated.fact != told.fact  # told as well as the first, not instead of it
    # Nobody named for escalation: the institution's coordinators hear of it.
    assert Contacts(["coord@u"], ["safe@u"]).of("escalation") == ["coord@u"]
    assert Contacts(["coord@u"], ["safe@u"], ["lead@u"]).of("escalation") == ["lead@u"]


@pytest.mark.parametrize("frequency", ["immediately", "weekly"])
def test_settings_switch_categories_off_but_never_a_required_notice(frequency: str) -> None:
    chosen = Preferences.model_validate({"email": {"sessions": False}, "frequency": frequency})
    assert chosen.mails(NoticeKind.SESSION_SCHEDULED) == "no"
    assert chosen.mails(NoticeKind.SESSION_CANCELLED) == "now"
    assert chosen.mails(NoticeKind.PROPOSAL) == ("digest" if frequency == "weekly" else "now")


def notice_for(event: IntegrationEvent, person: str = "consultant01") -> Notice:
    intent = next(i for i in plan_for(event, "hospital").intents if person in str(i.to))
    return Notice(
        id=notice_id(person, intent.kind, intent.fact),
        recipient=person,
        kind=intent.kind,
        fact=intent.fact,
        lead=intent.lead,
        program_id=intent.program_id,
        target=intent.target,
        params={**intent.params, "topic": "e-medicine"},
        created_at=NOW,
    )


def test_a_session_invitation_is_a_request_in_local_time_and_its_cancellation_rises() -> None:
    composer = MailComposer("hospital", "programs@hospital.example", "https://portal.example")
    reader = Addressee("ada@hospital.example", "Ada", "en", "Europe/London")
    titles = Titles({"hospital:program1": "Digital <wards>"}, {"e-medicine": "E-medicine"})
    calendars = []
    for event in (session(SessionScheduledV1, 1), session(SessionCancelledV1, 2)):
        message = composer.compose(notice_for(event), reader, titles)
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendars.append(icalendar.Calendar.from_ical(payload))
        assert message["Message-ID"].endswith("@hospital.example>")
        html = message.get_body(("html",))
        assert html is not None and "<wards>" not in html.get_content()
    (request,), (cancel,) = (list(c.walk("VEVENT")) for c in calendars)
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "CANCEL"]
    assert request["UID"] == cancel["UID"] == "session_1@hospital.telemachus"
    assert (str(request["SEQUENCE"]), str(cancel["SEQUENCE"])) == ("0", "1")
    start = request.decoded("dtstart")
    assert (str(start.tzinfo), start.hour) == ("Europe/London", 9)
    assert calendars[0].walk("VTIMEZONE"), "no VTIMEZONE for the TZID"


def test_french_reads_french_with_dates_in_french() -> None:
    composer = MailComposer("hospital", "programs@hospital.example", "https://portal.example")
    reader = Addressee("camille@hospital.example", "Camille", "fr", "Europe/Paris")
    subject, text, action = composer.summary(notice_for(proposal()), reader, Titles())
    assert subject == "Un binôme de mentorat vous est proposé"
    assert "10 avril 2026" in text and "mentoré senior" in text
    assert action == "Répondre à la proposition"
    assert composer.url(notice_for(proposal())) == (
        "https://portal.example/at/hospital/proposals/pairing_1"
    )


def test_every_notice_kind_has_words_and_french_is_complete() -> None:
    assert set(WORDING) == set(NoticeKind)
    messages = extracted(IDENTITY_SOURCE / "notifications", [("**.py", "python")])
    assert not untranslated(messages, FRENCH)
    assert lost_placeholders(FRENCH) == []


def test_a_regional_language_reads_its_language() -> None:
    composer = MailComposer("hospital", "programs@hospital.example", "https://portal.example")
    assert composer.language_of(["de", "fr-CA"]) == "fr"
    assert composer.language_of(["de"]) == "en"


def test_both_people_hear_of_a_pause_and_its_end_but_never_why() -> None:
    paused = RelationshipPausedV1(
        relationship_id="rel1", program_id="hospital:program1", hold_id="hold_x", paused_at=NOW
    )
    resumed = RelationshipResumedV1(
        relationship_id="rel1", program_id="hospital:program1", hold_id="hold_x", resumed_at=NOW
    )
    (told,) = plan_for(paused, "hospital").intents
    (again,) = plan_for(resumed, "hospital").intents
    assert told.to == PartiesOf("rel1") == again.to
    assert told.kind.required and not again.kind.required
    assert "concern" not in str(WORDING[told.kind]).lower()
