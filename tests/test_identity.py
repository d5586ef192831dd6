"""Identity through its HTTP API and its events, on the real local broker and store."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.contracts.identity import ParticipantEnrolledV2, ProfileUpdatedV2
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.contracts.topics import dead_letter_topic, event_topic
from telemachus.shared.runtime import dead_letter
from telemachus.shared.security.keys import InstitutionKeys
from telemachus.shared.security.tokens import Role, audience_of
from telemachus.shared.testing.kafka import eventually, headers_of, produce_event, read_topic
from tests.helpers.sites import (
    CONSENT,
    Site,
    bearer,
    enrol,
    known_at,
    publish_program,
    signed,
)


def confirmed_pairing(
    program: dict[str, Any], mentor: dict[str, Any], mentee: dict[str, Any]
) -> PairingConfirmedV1:
    """The fact a lead's pairing service publishes once both sides accepted."""
    return PairingConfirmedV1(
        pairing_id=f"pairing_{secrets.token_hex(4)}",
        program_id=program["id"],
        mode="assigned",
        mentor_ref=mentor["ref"],
        mentee_ref=mentee["ref"],
        topic="e-medicine",
        relationship_weeks=12,
        planned_sessions=6,
        confirmed_at=datetime.now(UTC),
    )


async def test_a_program_is_published_changed_and_followed_by_its_partners(
    sites: tuple[Site, Site, Site],
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"], title="Records and apps")

    changed = await hospital.call(
        "PATCH",
        f"/programs/{program['id']}",
        json={
            "title": "Records, apps and well-being",
            "topics": ["e-medicine", "apps", "clinician-well-being"],
            "reporting_threshold": 7,
        },
    )
    assert changed.status_code == 200, changed.text
    copy = await known_at(university, program["id"], reporting_threshold=7)
    assert copy["topics"] == ["e-medicine", "apps", "clinician-well-being"]

    refusals = {
        "topic removed": await hospital.call(
            "PATCH", f"/programs/{program['id']}", json={"topics": ["apps"]}
        ),
        "threshold lowered": await hospital.call(
            "PATCH", f"/programs/{program['id']}", json={"reporting_threshold": 3}
        ),
        "unknown partner": await hospital.call(
            "PATCH",
            f"/programs/{program['id']}",
            json={"partner_institutions": [university.id, "nowhere-institute"]},
        ),
        # The university keeps a copy, but the program is not the university's to change.
        "partner changes it": await university.call(
            "PATCH", f"/programs/{program['id']}", json={"title": "Taken over"}
        ),
        "participant publishes": await hospital.call(
            "POST", "/programs", await hospital.person("someone"), json={"title": "x"}
        ),
    }
    assert {k: r.status_code for k, r in refusals.items()} == {
        "topic removed": 422,
        "threshold lowered": 422,
        "unknown partner": 422,
        "partner changes it": 403,
        "participant publishes": 403,
    }
    assert refusals["threshold lowered"].json()["field"] == "reporting_threshold"
    assert (await hospital.call("GET", f"/programs/{program['id']}")).json() == {
        **program,
        "title": "Records, apps and well-being",
        "topics": ["e-medicine", "apps", "clinician-well-being"],
        "reporting_threshold": 7,
        "version": 1,
    }

    published = [b for _, b in await hospital.events() if b.get("program_id") == program["id"]]
    assert [b["title"] for b in published] == ["Records and apps", "Records, apps and well-being"]
    types = [
        h["ce_type"] for h, b in await hospital.events() if b.get("program_id") == program["id"]
    ]
    assert types == [
        "org.telemachus.identity.program-published.v1",
        "org.telemachus.identity.program-updated.v1",
    ]


async def test_the_topic_catalogue_is_seeded_and_extensible(
    sites: tuple[Site, Site, Site],
) -> None:
    hospital, _, _ = sites
    seeded = {t["id"] for t in (await hospital.call("GET", "/topics")).json()}
    assert {"e-medicine", "literature-searching", "another-professions-work"} <= seeded
    topic = f"point-of-care-ultrasound-{secrets.token_hex(2)}"
    added = await hospital.call("POST", "/topics", json={"id": topic, "title": "POCUS"})
    assert added.status_code == 201
    again = await hospital.call("POST", "/topics", json={"id": topic, "title": "POCUS"})
    assert again.status_code == 409
    assert (await publish_program(hospital, [], topics=[topic]))["topics"] == [topic]


async def test_a_participant_enrols_with_consent_and_shares_exactly_those_fields(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id])
    await known_at(university, program["id"])
    manager = await university.register(career_stage=4, profession="education")
    person = await university.register(line_manager_id=manager["id"])
    me = await university.person(person["subject"])
    assert (await university.call("GET", "/participants/me", me)).json()["id"] == person["id"]

    enrolled = await university.call(
        "POST",
        f"/participants/{person['id']}/enrolments",
        me,
        json={"program_id": program["id"], "consented_fields": [*CONSENT, "line_manager"]},
    )
    assert enrolled.status_code == 201, enrolled.text
    changed = await university.call(
        "PATCH",
        f"/participants/{person['id']}",
        me,
        json={"languages": ["en", "pt-BR"], "display_name": "Renamed"},
    )
    assert changed.status_code == 200 and changed.json()["display_name"] == "Renamed"

    async def facts() -> list[tuple[dict[str, str], Any]]:
        found = [
            (h, b)
            for h, b in await university.events()
            if b.get("participant_ref") == person["ref"]
        ]
        return found if len(found) == 2 else []

    (enrol_headers, enrol), (update_headers, update) = await eventually(facts)
    assert [enrol_headers["ce_type"], update_headers["ce_type"]] == [
        "org.telemachus.identity.participant-enrolled.v2",
        "org.telemachus.identity.profile-updated.v2",
    ]
    # The profile is sealed for the program's lead: open it as the hospital would.
    lead_keys = InstitutionKeys.load(federation.key_files[hospital.id])
    profiles = [
        json.loads(model.model_validate(body).opened(lead_keys).profile.model_dump_json())
        for model, body in ((ParticipantEnrolledV2, enrol), (ProfileUpdatedV2, update))
    ]
    # One person in one program: the update is the second of its events.
    assert [enrol["sequence"], update["sequence"]] == [1, 2]
    for body, profile in zip((enrol, update), profiles, strict=True):
        assert set(body) == {
            "participant_ref",
            "home_institution",
            "program_id",
            "lead_institution",
            "consented_fields",
            "profile",
            "sequence",
        }
        # Exactly the consented fields (line_manager travels as the managers' refs).
        assert set(profile) == {
            "career_stage",
            "topics_offered",
            "topics_sought",
            "languages",
            "availability",
            "reporting_line",
        }
        assert profile["reporting_line"] == [manager["ref"]]
        text = json.dumps(body) + json.dumps(profile)
        for personal in (
            person["display_name"],
            "Renamed",
            person["work_email"],
            "Emergency",
            person["id"] + "@",
        ):
            assert personal not in text
    assert profiles[1]["languages"] == ["en", "pt-BR"]
    assert profiles[0]["availability"]["time_zone"] == "Australia/Sydney"
    assert "Australia/Sydney" not in json.dumps(enrol)  # not in clear on the shared log


async def test_who_may_do_what_and_refusals_change_nothing(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [])
    ann = await hospital.register()
    bob = await hospital.register()
    as_ann, as_bob = await hospital.person(ann["subject"]), await hospital.person(bob["subject"])
    before = (await hospital.call("GET", f"/participants/{bob['id']}")).json()

    issuer = federation.issuer(hospital.id)
    # A university coordinator's token, issued by the university for the hospital's services.
    foreign_coordinator = bearer(
        federation.issuer(university.id).mint(
            f"coord@{university.id}", [Role.COORDINATOR], audience_of(hospital.id)
        )
    )
    wrong_audience = bearer(issuer.mint("coord", [Role.COORDINATOR], audience_of(university.id)))
    expired = bearer(
        issuer.mint(
            "coord", [Role.COORDINATOR], audience_of(hospital.id), lifetime=timedelta(minutes=-5)
        )
    )
    integrator = bearer(await hospital.token("hr-system", Role.INTEGRATOR))
    enrolment = {"program_id": program["id"], "consented_fields": CONSENT}
    attempts = {
        "no token": ("GET", f"/participants/{bob['id']}", {}, None),
        "garbage token": ("GET", f"/participants/{bob['id']}", bearer("not.a.jwt"), None),
        "wrong audience": ("GET", f"/participants/{bob['id']}", wrong_audience, None),
        "expired": ("GET", f"/participants/{bob['id']}", expired, None),
        "other institution's coordinator reads": (
            "GET",
            f"/participants/{bob['id']}",
            foreign_coordinator,
            None,
        ),
        "other institution's coordinator changes": (
            "PATCH",
            f"/participants/{bob['id']}",
            foreign_coordinator,
            {"languages": ["fr"]},
        ),
        "participant reads another": ("GET", f"/participants/{bob['id']}", as_ann, None),
        "participant changes another": (
            "PATCH",
            f"/participants/{bob['id']}",
            as_ann,
            {"languages": ["fr"]},
        ),
        "participant enrols another": (
            "POST",
            f"/participants/{bob['id']}/enrolments",
            as_ann,
            enrolment,
        ),
        "participant erases another": ("DELETE", f"/participants/{bob['id']}", as_ann, None),
        "coordinator consents for someone": (
            "POST",
            f"/participants/{bob['id']}/enrolments",
            None,
            enrolment,
        ),
        "coordinator reads someone's contacts": (
            "GET",
            f"/participants/{bob['id']}/contacts",
            None,
            None,
        ),
        "integrator changes": (
            "PATCH",
            f"/participants/{bob['id']}",
            integrator,
            {"languages": ["fr"]},
        ),
        "participant registers people": (
            "POST",
            "/participants",
            as_ann,
            {**before, "work_email": "x@y.example"},
        ),
        "participant lists people": ("GET", "/participants", as_ann, None),
        "duplicate e-mail": (
            "PATCH",
            f"/participants/{bob['id']}",
            as_bob,
            {"work_email": ann["work_email"]},
        ),
        "clearing a required field": (
            "PATCH",
            f"/participants/{bob['id']}",
            as_bob,
            {"profession": None},
        ),
        "manager cycle": (
            "PATCH",
            f"/participants/{bob['id']}",
            as_bob,
            {"line_manager_id": bob["id"]},
        ),
        "bad time zone": (
            "PATCH",
            f"/participants/{bob['id']}",
            as_bob,
            {"availability": {"time_zone": "Mars/Olympus", "slots": []}},
        ),
    }
    statuses = {}
    for name, (method, path, headers, body) in attempts.items():
        response = (
            await hospital.call(method, path, headers, json=body)
            if body is not None
            else await hospital.call(method, path, headers)
        )
        statuses[name] = response.status_code
        assert "reason" in response.text or "detail" in response.text, (name, response.text)
    assert statuses == {
        "no token": 401,
        "garbage token": 401,
        "wrong audience": 401,
        "expired": 401,
        "other institution's coordinator reads": 403,
        "other institution's coordinator changes": 403,
        "participant reads another": 403,
        "participant changes another": 403,
        "participant enrols another": 403,
        "participant erases another": 403,
        "coordinator consents for someone": 403,
        "coordinator reads someone's contacts": 403,
        "integrator changes": 403,
        "participant registers people": 403,
        "participant lists people": 403,
        "duplicate e-mail": 409,
        "clearing a required field": 422,
        "manager cycle": 422,
        "bad time zone": 422,
    }
    assert (await hospital.call("GET", f"/participants/{bob['id']}")).json() == before
    # What is allowed: the person themself, an integrator reading, the coordinator changing.
    assert (await hospital.call("GET", f"/participants/{bob['id']}", as_bob)).status_code == 200
    assert (await hospital.call("GET", f"/participants/{bob['id']}", integrator)).status_code == 200
    assert (
        await hospital.call("PATCH", f"/participants/{bob['id']}", None, json={"languages": ["fr"]})
    ).status_code == 200


async def test_erasure_leaves_no_personal_field_in_the_identity_database(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, _, _ = sites
    program = await publish_program(hospital, [])
    person = await hospital.register(
        display_name="Erin Erasable",
        department="Radiology",
        subject="erin-77",
        availability={"time_zone": "America/Halifax", "slots": []},
    )
    report = await hospital.register(line_manager_id=person["id"])
    me = await hospital.person("erin-77")
    await enrol(hospital, person, program)
    runtime = federation.runtime(hospital.id, "identity")

    async def relayed() -> bool:
        return (
            await runtime.db["outbox"].count_documents({"key": person["ref"], "sent_at": None}) == 0
        )

    await eventually(relayed)
    erased = await hospital.call("DELETE", f"/participants/{person['id']}", me)
    assert erased.status_code == 200, erased.text
    assert (await hospital.call("GET", f"/participants/{person['id']}")).status_code == 404

    personal = ["Erin Erasable", person["work_email"], "erin-77", "Radiology", "America/Halifax"]
    for name in await runtime.db.list_collection_names():
        async for document in runtime.db[name].find({}):
            text = json.dumps(document, default=str)
            assert not [p for p in personal if p in text], (name, document)

    # What remains, and why: the tombstone is the consent record auditors need (which
    # fields went to which program, when, and when that stopped), under the pseudonym.
    tombstone = await runtime.db["tombstones"].find_one({"_id": person["id"]})
    assert tombstone is not None
    assert set(tombstone) == {
        "_id",
        "version",
        "ref",
        "home_institution",
        "registered_at",
        "erased_at",
        "erased_by",
        "enrolments",
    }
    assert tombstone["erased_by"] == "participant"
    [enrolment] = tombstone["enrolments"]
    assert enrolment["program_id"] == program["id"] and enrolment["withdrawn_at"] is not None
    auditor = bearer(await hospital.token("audit", Role.AUDITOR))
    audit = (await hospital.call("GET", f"/audit/participants/{person['id']}", auditor)).json()
    assert audit["participant_ref"] == person["ref"] and audit["erased_at"]
    # The people they managed keep only the pseudonymous ref as a conflict of interest.
    kept = (await hospital.call("GET", f"/participants/{report['id']}")).json()
    assert kept["line_manager_id"] == person["id"]

    async def withdrawn() -> list[Any]:
        return [
            b
            for h, b in await hospital.events("org.telemachus.identity.participant-withdrawn.v1")
            if b["participant_ref"] == person["ref"]
        ]

    [event] = await eventually(withdrawn)
    assert event["erased"] is True and event["program_id"] == program["id"]
    assert set(event) == {
        "participant_ref",
        "home_institution",
        "program_id",
        "lead_institution",
        "erased",
        "withdrawn_at",
        "sequence",
    }


async def test_contacts_are_read_from_home_after_confirmation_and_stop_on_withdrawal(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, lab = sites
    program = await publish_program(hospital, [university.id, lab.id])
    await known_at(university, program["id"])
    await known_at(lab, program["id"])
    mentor = await university.register(career_stage=2)
    mentee = await lab.register(
        career_stage=5, topics_offered=[], topics_sought=[{"topic": "e-medicine", "priority": 5}]
    )
    await enrol(university, mentor, program)
    await enrol(lab, mentee, program)
    confirmed = confirmed_pairing(program, mentor, mentee)
    bootstrap = federation.kafka_bootstrap_servers
    # The same fact announced by the university's pairing service, which does not lead the
    # program, is refused: only the lead speaks for its pairings.
    forged_topic = event_topic(university.id, "pairing")
    await produce_event(
        bootstrap, forged_topic, confirmed, signed(federation, confirmed, forged_topic)
    )
    lead_topic = event_topic(hospital.id, "pairing")
    await produce_event(bootstrap, lead_topic, confirmed, signed(federation, confirmed, lead_topic))

    async def counterparts(site: Site, person: dict[str, Any]) -> list[Any]:
        response = await site.call(
            "GET", f"/participants/{person['id']}/contacts", await site.person(person["subject"])
        )
        assert response.status_code == 200
        return list(response.json())

    async def card_at(home: Site, reader_home: Site, reader: dict[str, Any]) -> httpx.Response:
        """The reader asks the counterpart's home for the card, with a token from their
        own home for that institution."""
        token = await federation.sign_in(reader_home.id, reader["subject"], audience=home.id)
        return await home.call(
            "GET", f"/contact-cards/{confirmed.pairing_id}", {"Authorization": f"Bearer {token}"}
        )

    [listed] = await eventually(lambda: counterparts(lab, mentee))
    assert (
        listed["counterpart_ref"] == mentor["ref"] and listed["home_institution"] == university.id
    )
    assert listed["card"] is None  # not ours: read at the mentor's home

    async def readable(home: Site, reader_home: Site, reader: dict[str, Any]) -> dict[str, Any]:
        response = await card_at(home, reader_home, reader)
        return dict(response.json()) if response.status_code == 200 else {}

    mentors_card = await eventually(lambda: readable(university, lab, mentee))
    assert (mentors_card["display_name"], mentors_card["work_email"]) == (
        mentor["display_name"],
        mentor["work_email"],
    )
    mentees_card = await eventually(lambda: readable(lab, university, mentor))
    assert mentees_card["participant_ref"] == mentee["ref"]
    # Nobody else reads it: another person of the lab, the lead's coordinator.
    stranger = await lab.register()
    assert (await card_at(university, lab, stranger)).status_code == 404
    lead = await federation.sign_in(
        hospital.id, f"coord@{hospital.id}", *groups_for(Role.COORDINATOR), audience=university.id
    )
    refused_lead = await university.call(
        "GET", f"/contact-cards/{confirmed.pairing_id}", {"Authorization": f"Bearer {lead}"}
    )
    assert refused_lead.status_code == 403

    # No card, sealed or not, goes on the log.
    assert await university.events("org.telemachus.identity.contact-shared.v1") == []
    everything = json.dumps([body for _, body in await university.events()])
    assert mentor["display_name"] not in everything and mentor["work_email"] not in everything

    async def refused() -> list[Any]:
        letters = await read_topic(bootstrap, dead_letter_topic(university.id, "identity"))
        return [
            h for h in map(headers_of, letters) if h[dead_letter.ORIGINAL_TOPIC] == forged_topic
        ]

    [letter] = await eventually(refused)
    assert letter[dead_letter.REASON] == "rejected"
    assert (
        f"{university.id} announced a pairing of {hospital.id}'s program"
        in letter[dead_letter.DETAIL]
    )

    # The mentor withdraws: their card is gone at once, and they no longer read the mentee's.
    withdrawn = await university.withdraw(mentor, program["id"])
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    assert (await card_at(university, lab, mentee)).status_code == 404

    async def forgotten() -> bool:
        return (await card_at(lab, university, mentor)).status_code == 404

    await eventually(forgotten)


async def test_a_csv_import_reports_every_row_and_is_all_or_nothing_unless_asked(
    sites: tuple[Site, Site, Site],
) -> None:
    hospital, _, _ = sites
    existing = await hospital.register()
    tag = secrets.token_hex(3)
    csv_text = (
        "display_name,work_email,profession,career_stage,department,topics_offered,"
        "topics_sought,languages,time_zone,availability\n"
        f"Kim Lee,kim.{tag}@h.example,medicine,registrar,ICU,e-medicine:4,,en;ko,"
        "Asia/Seoul,mon 09:00-10:00;thu 18:00-19:30\n"
        f"Sam Roe,sam.{tag}@h.example,pharmacy,chief pharmacist,Pharmacy,,apps:5,en,,\n"
        f"Bad Stage,bad.{tag}@h.example,nursing,wizard,Ward 3,,,en,,\n"
        f"Dup Mail,{existing['work_email']},nursing,2,Ward 3,,,en,,\n"
        f"Bad Slot,slot.{tag}@h.example,nursing,2,,,,en,Europe/Paris,mon 10:00-09:00\n"
    )
    csv_headers = {**hospital.coordinator, "content-type": "text/csv"}
    count_before = len((await hospital.call("GET", "/participants")).json())

    refused = await hospital.call("POST", "/participants/import", csv_headers, content=csv_text)
    assert refused.status_code == 422, refused.text
    report = refused.json()["report"]
    assert report["imported"] == 0 and report["refused"] == 3
    assert [(r["line"], r["status"], r.get("field")) for r in report["rows"]] == [
        (2, "accepted", None),
        (3, "accepted", None),
        (4, "refused", "career_stage"),
        (5, "refused", "work_email"),
        (6, "refused", "availability.slots.0"),
    ]
    assert len((await hospital.call("GET", "/participants")).json()) == count_before

    accepted = await hospital.call(
        "POST",
        "/participants/import",
        csv_headers,
        content=csv_text,
        params={"accept_valid": "true"},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["imported"] == 2
    ids = [r["participant_id"] for r in accepted.json()["rows"] if r["status"] == "accepted"]
    kim = (await hospital.call("GET", f"/participants/{ids[0]}")).json()
    sam = (await hospital.call("GET", f"/participants/{ids[1]}")).json()
    assert (kim["career_stage"], sam["career_stage"]) == (3, 5)  # registrar, chief pharmacist
    assert kim["availability"]["slots"][1] == {"day": "thu", "start": "18:00:00", "end": "19:30:00"}
    assert kim["languages"] == ["en", "ko"] and sam["topics_sought"] == [
        {"topic": "apps", "priority": 5}
    ]

    unknown_column = await hospital.call(
        "POST",
        "/participants/import",
        csv_headers,
        content="display_name,work_email,profession,career_stage,salary\n",
    )
    problem = unknown_column.json()
    assert (problem["detail"], problem["field"]) == ("unknown columns: salary", "file")
    participant = await hospital.person(kim["subject"])
    forbidden = await hospital.call(
        "POST",
        "/participants/import",
        {**participant, "content-type": "text/csv"},
        content=csv_text,
    )
    assert forbidden.status_code == 403


async def test_colleagues_paired_at_one_institution_get_each_others_card_until_one_leaves(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, _, _ = sites
    program = await publish_program(hospital, [])
    mentor = await hospital.register(career_stage=2)
    mentee = await hospital.register(
        career_stage=4, topics_offered=[], topics_sought=[{"topic": "e-medicine", "priority": 3}]
    )
    for person in (mentor, mentee):
        await enrol(hospital, person, program)
    confirmed = confirmed_pairing(program, mentor, mentee)
    topic = event_topic(hospital.id, "pairing")
    await produce_event(
        federation.kafka_bootstrap_servers, topic, confirmed, signed(federation, confirmed, topic)
    )

    async def cards(person: dict[str, Any]) -> list[Any]:
        response = await hospital.call(
            "GET",
            f"/participants/{person['id']}/contacts",
            await hospital.person(person["subject"]),
        )
        return list(response.json())

    [card] = await eventually(lambda: cards(mentee))
    assert card["card"]["work_email"] == mentor["work_email"]
    assert [c["card"]["work_email"] for c in await eventually(lambda: cards(mentor))] == [
        mentee["work_email"]
    ]
    erased = await hospital.call(
        "DELETE", f"/participants/{mentor['id']}", await hospital.person(mentor["subject"])
    )
    assert erased.status_code == 200
    assert await cards(mentee) == []  # gone in the erasure's own transaction


async def test_a_burst_of_enrolments_shares_transactions_and_each_gets_its_own_answer(
    sites: tuple[Site, Site, Site], spans: InMemorySpanExporter
) -> None:
    """A cohort enrolling at once: the requests are written in shared transactions (group
    commit), yet a refusal stays the refused person's own, and nobody else's enrolment is
    lost or published twice."""
    hospital, _, _ = sites
    program = await publish_program(hospital, [])
    people = [await hospital.register() for _ in range(12)]
    tokens = [await hospital.person(p["subject"]) for p in people]

    async def enrol_as(i: int, program_id: str) -> int:
        response = await hospital.call(
            "POST",
            f"/participants/{people[i]['id']}/enrolments",
            tokens[i],
            json={"program_id": program_id, "consented_fields": CONSENT},
        )
        return response.status_code

    spans.clear()
    answers = await asyncio.gather(
        *(enrol_as(i, program["id"]) for i in range(11)),
        enrol_as(0, program["id"]),  # the same person twice at once: one is a conflict
        enrol_as(11, f"{hospital.id}:NoSuchProgram1"),  # refused: no such program
    )
    assert sorted(answers[:12]) == [201] * 11 + [409]
    assert answers[12] == 422
    grouped = [s for s in spans.get_finished_spans() if s.name.startswith("handle group of")]
    assert grouped, "the burst was written one request at a time"

    async def published() -> list[str]:
        events = await hospital.events(ParticipantEnrolledV2.event_type)
        refs = [
            body["participant_ref"] for _, body in events if body["program_id"] == program["id"]
        ]
        return refs if len(refs) >= 11 else []

    refs = await eventually(published)
    assert sorted(refs) == sorted(p["ref"] for p in people[:11])  # each once, none lost
    # Each enrolment's event goes on in its own request's trace, not in a shared one.
    events = await hospital.events(ParticipantEnrolledV2.event_type)
    traces = {
        headers["traceparent"].split("-")[1]
        for headers, body in events
        if body["program_id"] == program["id"]
    }
    assert len(traces) == 11
