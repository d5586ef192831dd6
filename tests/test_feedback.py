"""Feedback through its HTTP API and its events, on the real local broker and store.

A hospital leads a program (reporting threshold 3) with a university. Sixteen people enrol
at their home identity services; eight pairings are confirmed on the hospital's pairing
topic, and the hospital's real sessions service opens the relationships, which opens the
baseline windows. Sessions held and relationship outcomes are then produced on the
hospital's sessions topic as sessions would publish them (sessions' own path to them is
tested in test_sessions.py); both sides answer; the report's numbers are checked against
values computed by hand.

    relationship  mode      mentor (profession, home)   sessions  outcome
    1-4           assigned  nursing, university         3 3 3 1   completed x3, ended (4)
    5, 6          ranked    pharmacy, hospital          3 0       completed, ended (6)
    7             ranked    physiotherapy, hospital     3         completed
    8             mixed     nursing, university         3         completed
    every mentee: medicine, hospital
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest

from telemachus.cli.federation import Federation
from telemachus.feedback.domain import commands
from telemachus.feedback.domain.instruments import BY_KEY
from telemachus.feedback.service_layer.handlers import FeedbackHandlers
from telemachus.feedback.service_layer.publishing import to_wire
from telemachus.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from telemachus.shared.contracts.base import IntegrationEvent
from telemachus.shared.contracts.pairing import PairingConfirmedV1, PairingProposedV1
from telemachus.shared.contracts.sessions import (
    RelationshipCompletedV1,
    RelationshipEndedV1,
    SessionHeldV1,
)
from telemachus.shared.contracts.topics import ServiceName, event_topic
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.security.keys import new_ed25519
from telemachus.shared.security.tokens import Role, TokenIssuer, audience_of
from telemachus.shared.testing.kafka import eventually, produce_event
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, bearer, enrol, known_at, publish_program, signed

CONSENT = ["profession", "career_stage", "topics_offered", "topics_sought"]
PLAN = [  # (mode, mentor's site index, mentor's profession, sessions held, completed)
    ("assigned", 1, "nursing", 3, True),
    ("assigned", 1, "nursing", 3, True),
    ("assigned", 1, "nursing", 3, True),
    ("assigned", 1, "nursing", 1, False),
    ("ranked", 0, "pharmacy", 3, True),
    ("ranked", 0, "pharmacy", 0, False),
    ("ranked", 0, "physiotherapy", 3, True),
    ("mixed", 1, "nursing", 3, True),
]
T_975_7 = 2.364624252  # Student's t, 97.5th percentile, 7 degrees of freedom


def all_items(key: str, value: int) -> dict[str, int]:
    return dict.fromkeys(BY_KEY[key].item_ids(), value)


class FeedbackApi(LeadApi):
    def __init__(self, federation: Federation, lead: Site, client: httpx.AsyncClient) -> None:
        super().__init__(federation, lead, client, "feedback")

    async def windows(self, pid: str, kind: str, count: int) -> list[dict[str, Any]]:
        """The program's windows of a kind, once there are `count` of them."""
        found = await self.ok(
            "GET", f"/programs/{pid}/feedback-windows", await self.coordinator(self.lead)
        )
        of_kind = [w for w in found if w["kind"] == kind]
        return of_kind if len(of_kind) == count else []

    async def answer(
        self, person: dict[str, Any], window_id: str, key: str, value: int
    ) -> dict[str, Any]:
        path = f"/windows/{window_id}/answers/{key}"
        body = {"answers": all_items(key, value), "comment": f"free text {key}"}
        return dict(await self.ok("PUT", path, await self.participant(person), json=body))


async def produce(
    federation: Federation, lead: str, service: ServiceName, *events: IntegrationEvent
) -> None:
    topic = event_topic(lead, service)
    for event in events:
        await produce_event(
            federation.kafka_bootstrap_servers, topic, event, signed(federation, event, topic)
        )


Pair = tuple[str, dict[str, Any], dict[str, Any], int, bool]  # mode, mentor, mentee, held, done


async def enrol_pairs(
    sites: tuple[Site, Site, Site], program: dict[str, Any], plan: list[Any]
) -> list[Pair]:
    """Each line of the plan: a mentor at their home, a senior mentee at the hospital."""
    hospital = sites[0]
    pairs: list[Pair] = []
    for mode, site_index, profession, held, completed in plan:
        home = sites[site_index]
        mentor = await home.register(profession=profession, career_stage=2)
        mentee = await hospital.register(
            profession="medicine",
            career_stage=5,
            topics_offered=[],
            topics_sought=[{"topic": "e-medicine", "priority": 5}],
        )
        await enrol(home, mentor, program, CONSENT)
        await enrol(hospital, mentee, program, CONSENT)
        pairs.append((mode, mentor, mentee, held, completed))
    return pairs


async def confirm_pairings(
    federation: Federation, lead: str, pid: str, pairs: list[Pair]
) -> list[str]:
    """Proposed and confirmed on the lead's pairing topic; the relationships' ids."""
    rids = []
    now = datetime.now(UTC)
    for mode, mentor, mentee, _, _ in pairs:
        pairing_id = f"pairing_{secrets.token_hex(5)}"
        common = {
            "pairing_id": pairing_id,
            "program_id": pid,
            "mode": mode,
            "mentor_ref": mentor["ref"],
            "mentee_ref": mentee["ref"],
            "topic": "e-medicine",
        }
        await produce(
            federation,
            lead,
            "pairing",
            PairingProposedV1(
                **common, round_id="round_1", score=10, respond_by=now + timedelta(days=7)
            ),
            PairingConfirmedV1(
                **common, relationship_weeks=12, planned_sessions=3, confirmed_at=now
            ),
        )
        rids.append(f"relationship_{pairing_id}")
    return rids


async def finish_relationships(
    federation: Federation, lead: str, pid: str, pairs: list[Pair], rids: list[str]
) -> None:
    """Completed or ended early, on the lead's sessions topic, as sessions publishes it."""
    today = date.today()
    for i, (mode, mentor, mentee, held, completed) in enumerate(pairs):
        common = {
            "relationship_id": rids[i],
            "pairing_id": rids[i].removeprefix("relationship_"),
            "program_id": pid,
            "mode": mode,
            "mentor_ref": mentor["ref"],
            "mentee_ref": mentee["ref"],
            "sessions_held": held,
        }
        outcome: IntegrationEvent = (
            RelationshipCompletedV1(**common, completed_on=today, reason="sessions-held")
            if completed
            else RelationshipEndedV1(**common, ended_on=today, withdrawn=False)
        )
        await produce(federation, lead, "sessions", outcome)


def metric(report: dict[str, Any], metric_id: str) -> dict[str, Any]:
    return next(m for s in report["sections"] for m in s["metrics"] if m["id"] == metric_id)


def groups(m: dict[str, Any], split: str) -> dict[str, dict[str, Any]]:
    return {c["group"]: c for c in m["splits"][split]}


def assert_no_differencing_leak(report: dict[str, Any], k: int) -> None:
    """In every split, what subtraction from the total reveals is nothing or >= k units."""
    for section in report["sections"]:
        for m in section["metrics"]:
            for split, cells in m["splits"].items():
                if m["total"]["suppressed"]:
                    assert cells == [], (m["id"], split)
                    continue
                shown = [c for c in cells if not c["suppressed"]]
                assert all(c["n"] == 0 or c["n"] >= k for c in shown), (m["id"], split)
                recoverable = m["total"]["n"] - sum(c["n"] for c in shown)
                assert recoverable == 0 or recoverable >= k, (m["id"], split, recoverable)


async def test_feedback_from_sessions_to_a_suppressed_report_and_a_de_identified_export(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id], reporting_threshold=3)
    pid = program["id"]
    await known_at(university, pid)
    pairs = await enrol_pairs(sites, program, PLAN)

    async with httpx.AsyncClient(timeout=60) as client:
        api = FeedbackApi(federation, hospital, client)
        lead, partner = await api.coordinator(hospital.id), await api.coordinator(university.id)

        async def report() -> dict[str, Any]:
            return dict(await api.ok("GET", f"/programs/{pid}/report", lead))

        async def everyone_known() -> dict[str, Any]:
            response = await api.call("GET", f"/programs/{pid}/report", lead)
            body = response.json() if response.status_code == 200 else {}
            return body if body and metric(body, "enrolled")["total"]["n"] == 16 else {}

        await eventually(everyone_known, within=60)

        # Pairings confirmed on the lead's pairing topic; sessions opens the relationships.
        rids = await confirm_pairings(federation, hospital.id, pid, pairs)
        now = datetime.now(UTC)

        def windows(kind: str, count: int) -> Awaitable[list[dict[str, Any]]]:
            return api.windows(pid, kind, count)

        baseline = {
            w["relationship_id"]: w["id"]
            for w in await eventually(lambda: windows("baseline", 8), within=60)
        }
        assert set(baseline) == set(rids)

        # Baseline outcome surveys: mentees all 2; mentors all 3, but the last mentor
        # never answers (the reminder test below).
        for i, (_, mentor, mentee, _, _) in enumerate(pairs):
            await api.answer(mentee, baseline[rids[i]], "mentee-outcomes.v1", 2)
            if i < 7:
                await api.answer(mentor, baseline[rids[i]], "mentor-outcomes.v1", 3)

        # A participant's own view lists what each window asks of them.
        first_mentor, first_mentee = pairs[0][1], pairs[0][2]
        mine = await api.ok("GET", "/feedback/me", await api.participant(first_mentor))
        assert [(w["role"], w["answered"]) for w in mine] == [("mentor", ["mentor-outcomes.v1"])]

        # A session held opens a check-in; the outcomes open the final windows.
        held_event = SessionHeldV1(
            relationship_id=rids[0],
            session_id="session_one",
            program_id=pid,
            mentor_ref=first_mentor["ref"],
            mentee_ref=first_mentee["ref"],
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(hours=1),
            format="virtual",
            held_count=1,
        )
        await produce(federation, hospital.id, "sessions", held_event)
        check_in = (await eventually(lambda: windows("check-in", 1), within=60))[0]["id"]
        await api.answer(first_mentor, check_in, "mentor-check-in.v1", 4)

        await finish_relationships(federation, hospital.id, pid, pairs, rids)
        final = {
            w["relationship_id"]: w["id"]
            for w in await eventually(lambda: windows("final", 8), within=60)
        }

        # Both sides rate each other and answer the outcome survey again.
        answers: dict[str, dict[str, Any]] = {}
        for i, (_, mentor, mentee, _, _) in enumerate(pairs):
            w = final[rids[i]]
            answers[f"mentee{i}"] = await api.answer(mentee, w, "mentor-attributes.v1", 4 + i % 2)
            await api.answer(mentee, w, "mentee-outcomes.v1", 3 + i % 2)
            answers[f"mentor{i}"] = await api.answer(mentor, w, "mentee-attributes.v1", 4)
            await api.answer(mentor, w, "mentor-outcomes.v1", 4)

        # Bad answers name the field and change nothing stored.
        partial = all_items("mentor-attributes.v1", 3)
        del partial["listens"]
        refused = await api.call(
            "PUT",
            f"/windows/{final[rids[0]]}/answers/mentor-attributes.v1",
            await api.participant(first_mentee),
            json={"answers": partial},
        )
        assert refused.status_code == 422
        assert refused.json()["field"] == "answers.listens"
        out_of_scale = await api.call(
            "PUT",
            f"/windows/{final[rids[0]]}/answers/mentor-attributes.v1",
            await api.participant(first_mentee),
            json={"answers": all_items("mentor-attributes.v1", 6)},
        )
        assert out_of_scale.status_code == 422
        kept = await api.ok(
            "GET", f"/answers/{answers['mentee0']['id']}", await api.participant(first_mentee)
        )
        assert set(kept["answers"].values()) == {4}

        # Nobody but the author reads an answer: not the other party, not a coordinator.
        mentor_answer = answers["mentor0"]["id"]
        for who in (await api.participant(first_mentee), lead, partner):
            denied = await api.call("GET", f"/answers/{mentor_answer}", who)
            assert denied.status_code == 403, who
            assert "mentee-attributes" not in denied.text
        # Tokens: a partner's participant answered above with a home-issued token; a token
        # from an issuer outside the registry, or for another audience, is refused.
        rogue = TokenIssuer("https://idp.rogue.invalid/dev", new_ed25519("rogue-1")[0])
        wrong_audience = bearer(
            federation.token(
                university.id, first_mentor["subject"], Role.PARTICIPANT, ref=first_mentor["ref"]
            )
        )
        foreign_issuer = bearer(
            rogue.mint(
                first_mentor["subject"],
                [Role.PARTICIPANT],
                audience_of(hospital.id),
                participant_ref=first_mentor["ref"],
            )
        )
        for token in (wrong_audience, foreign_issuer):
            assert (await api.call("GET", "/feedback/me", token)).status_code == 401
        # and a participant cannot read the program's report either.
        assert (
            await api.call("GET", f"/programs/{pid}/report", await api.participant(first_mentor))
        ).status_code == 403

        # Concerns: to coordinators only, never to the other party.
        concern = await api.ok(
            "POST",
            "/concerns",
            await api.participant(first_mentor),
            json={
                "relationship_id": rids[0],
                "category": "power-imbalance",
                "text": "he talks over me",
            },
        )
        await api.ok(
            "POST",
            "/concerns",
            await api.participant(pairs[4][2]),
            json={"relationship_id": rids[4], "category": "time-burden"},
        )
        not_a_party = await api.call(
            "POST",
            "/concerns",
            await api.participant(pairs[1][1]),
            json={"relationship_id": rids[0], "category": "other"},
        )
        assert not_a_party.status_code == 403
        assert await api.ok("GET", "/concerns/me", await api.participant(first_mentee)) == []
        assert (
            await api.call("GET", f"/programs/{pid}/concerns", await api.participant(first_mentee))
        ).status_code == 403
        # The lead's coordinators read them with a token their identity service vouched
        # for (as the portal does): their IdP's own token cannot show they are no party.
        vouched = await api.coordinator(api.lead, exchanged=True)
        assert await api.ok("GET", f"/programs/{pid}/concerns", lead) == []
        assert len(await api.ok("GET", f"/programs/{pid}/concerns", vouched)) == 2
        # the partner's coordinators see the concern of their own person only
        seen_by_partner = await api.ok("GET", f"/programs/{pid}/concerns", partner)
        assert [c["id"] for c in seen_by_partner] == [concern["id"]]
        followed = await api.ok(
            "POST",
            f"/concerns/{concern['id']}/follow-up",
            vouched,
            json={"status": "acknowledged"},
        )
        assert followed["status"] == "acknowledged"
        mine_now = await api.ok("GET", "/concerns/me", await api.participant(first_mentor))
        assert [c["status"] for c in mine_now] == ["acknowledged"]

        # The report, checked against numbers computed by hand (threshold 3).
        body = await report()
        assert body["threshold"] == 3
        assert_no_differencing_leak(body, 3)

        enrolled = metric(body, "enrolled")
        assert enrolled["total"]["n"] == 16
        assert groups(enrolled, "institution")[hospital.id]["n"] == 11  # 8 mentees + 3 mentors
        assert groups(enrolled, "institution")[university.id]["n"] == 5
        professions = groups(enrolled, "profession")
        assert professions["medicine"]["n"] == 8 and professions["nursing"]["n"] == 5
        # pharmacy 2 and physiotherapy 1: hidden, and together 3, so nothing else is
        assert professions["pharmacy"]["suppressed"] and professions["physiotherapy"]["suppressed"]
        assert metric(body, "paired")["total"]["value"] == 1.0
        accepted = metric(body, "accepted")
        assert groups(accepted, "mode")["assigned"] == {
            **groups(accepted, "mode")["assigned"],
            "n": 4,
            "value": 1.0,
        }

        completion = metric(body, "completed")
        assert completion["total"]["n"] == 8 and completion["total"]["value"] == 6 / 8
        by_mode = groups(completion, "mode")
        # mixed has 1: hidden; ranked (3), the smallest shown, is hidden with it
        assert by_mode["mixed"]["suppressed"] and by_mode["ranked"]["suppressed"]
        assert by_mode["assigned"]["n"] == 4 and by_mode["assigned"]["value"] == 3 / 4
        by_institution = groups(completion, "institutions")
        assert by_institution[f"{university.id} → {hospital.id}"]["value"] == 4 / 5
        assert by_institution[f"{hospital.id} → {hospital.id}"]["value"] == 2 / 3
        assert metric(body, "ended-early")["total"]["value"] == 2 / 8
        sessions = metric(body, "sessions-held")
        assert sessions["total"]["value"] == pytest.approx((3 + 3 + 3 + 1 + 3 + 0 + 3 + 3) / 8)
        assert groups(sessions, "institutions")[f"{hospital.id} → {hospital.id}"]["value"] == 2.0

        rating = metric(body, "mentor-attributes.v1")
        assert rating["total"]["n"] == 8 and rating["total"]["value"] == 4.5
        assert groups(rating, "mode")["assigned"]["value"] == 4.5  # 4, 5, 4, 5
        assert metric(body, "mentee-attributes.v1")["total"]["value"] == 4.0
        assert metric(body, "mentor-check-in.v1")["total"]["suppressed"]  # one respondent

        change = metric(body, "mentee-outcomes.v1.change")
        half = T_975_7 * (2 / 7) ** 0.5 / 8**0.5  # changes 1, 2, 1, 2, 1, 2, 1, 2
        assert change["total"]["n"] == 8 and change["total"]["value"] == 1.5
        assert change["total"]["low"] == pytest.approx(1.5 - half, abs=1e-6)
        assert change["total"]["high"] == pytest.approx(1.5 + half, abs=1e-6)
        mentor_change = metric(body, "mentor-outcomes.v1.change")
        # 7 mentors answered both, each 3 -> 4; the eighth has no baseline
        assert mentor_change["total"]["n"] == 7 and mentor_change["total"]["value"] == 1.0

        # 2 concerns < 3: hidden as a count, and so as a rate too (2/8 x 8 would give it).
        assert metric(body, "concerns")["total"]["suppressed"]
        assert metric(body, "concern-rate")["total"]["suppressed"]

        # The page: self-contained, charts, no one named.
        page = await api.call("GET", f"/programs/{pid}/report.html", lead)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<svg" in page.text and "suppressed (small group)" in page.text
        assert first_mentor["ref"] not in page.text

        # The research export: the lead's coordinators only; reloads; names nobody.
        assert (await api.call("GET", f"/programs/{pid}/export", partner)).status_code == 403
        people = [p for _, mentor, mentee, _, _ in pairs for p in (mentor, mentee)]
        identifying = (
            [
                v
                for p in people
                for v in (
                    p["ref"],
                    p["ref"].split(":")[1],
                    p["display_name"],
                    p["work_email"],
                    p["id"],
                )
            ]
            + rids
            + list(final.values())
        )
        orders: list[list[tuple[int, int, int]]] = []
        for fmt in ("csv", "parquet", "csv"):
            got = await api.call("GET", f"/programs/{pid}/export", lead, params={"format": fmt})
            assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
            with zipfile.ZipFile(io.BytesIO(got.content)) as z:
                codebook = json.loads(z.read("codebook.json"))
                data = z.read(f"answers.{fmt}")
            frame = (
                pd.read_csv(io.BytesIO(data))
                if fmt == "csv"
                else pq.read_table(io.BytesIO(data)).to_pandas()
            )
            assert list(frame.columns) == [c["name"] for c in codebook["columns"]]
            # 8 + 7 baseline, 1 check-in, 32 final, less what k-anonymity withheld
            control = codebook["disclosure_control"]
            assert len(frame) == codebook["rows"] == 48 - control["rows_withheld"]
            # Attack 8 (issue 14): no row stands out on what a coordinator knows of a
            # relationship, and no two exports line up by position.
            qi = frame[control["quasi_identifiers"]].apply(
                lambda row: "|".join(map(str, row)), axis=1
            )
            per_class = frame.assign(qi=qi).groupby("qi")["relationship"].nunique()
            assert (per_class >= 3).all(), per_class
            orders.append(
                list(zip(frame["role"], frame["window"], frame["instrument"], strict=True))
            )
            text = frame.to_csv()
            assert not [v for v in identifying if v in text]
            assert "free text" not in text  # comments stay out unless the program opts in
        assert len({tuple(o) for o in orders}) > 1

        # Later: a sweep with a clock 12 days ahead reminds whoever has not answered a
        # window still open, and closes the check-in (7 days).
        runtime = federation.runtime(hospital.id, "feedback")

        def later(days: int) -> MessageBus[FeedbackUnitOfWork]:
            return MessageBus(
                runtime.unit_of_work_factory(FeedbackUnitOfWork, to_wire),
                FeedbackHandlers(
                    hospital.id, clock=lambda: datetime.now(UTC) + timedelta(days=days)
                ).handlers(),
                runtime.telemetry.tracer,
            )

        await later(12).handle(commands.Sweep())

        async def feedback_events() -> list[tuple[str, dict[str, Any]]]:
            return [(kind, e) for kind, e in await api.events() if e.get("program_id") == pid]

        async def reminded() -> list[dict[str, Any]]:
            due = [e for kind, e in await feedback_events() if kind == "feedback-due"]
            return due if due else []

        due = await eventually(reminded, within=30)
        # Only the last mentor's baseline: the first mentee's unanswered check-in closed
        # at day 7, before this sweep, and a closed window reminds no one.
        assert [(e["window_id"], e["respondent_ref"]) for e in due] == [
            (baseline[rids[7]], pairs[7][1]["ref"])
        ]
        assert not any(
            k in ("mentor-attributes", "answers") for e in due for k in e
        )  # events carry no answer
        late = await api.call(
            "PUT",
            f"/windows/{check_in}/answers/mentee-check-in.v1",
            await api.participant(first_mentee),
            json={"answers": all_items("mentee-check-in.v1", 5)},
        )
        assert late.status_code == 409 and late.json()["field"] == "window_id"
        closed = [
            e["window_id"] for k, e in await feedback_events() if k == "feedback-window-closed"
        ]
        assert closed == [check_in]

        # A withdrawal under the default policy (erase) removes the person's answers.
        leaver = pairs[1][2]
        response = await hospital.withdraw(leaver, pid)
        assert response.status_code == 200, response.text

        async def erased() -> dict[str, Any]:
            body = await report()
            return body if metric(body, "enrolled")["total"]["n"] == 15 else {}

        after = await eventually(erased, within=60)
        assert metric(after, "completed")["total"]["n"] == 8  # the relationship still counts
        gone = await api.call(
            "GET", f"/answers/{answers['mentee1']['id']}", await api.participant(leaver)
        )
        assert gone.status_code == 403
        # Issue 14, attack 5: before and after one erasure, no answer-based figure moved
        # (n 8 -> 7 would give the leaver's exact change by subtraction): each is shown as
        # last released, dated, until k people's contributions have changed.
        for section in after["sections"]:
            for shown in section["metrics"]:
                if shown["confidential"] and shown["id"] in {
                    "mentee-outcomes.v1.change",
                    "mentor-attributes.v1",
                }:
                    assert shown["held_since"] is not None, shown["id"]
                    assert shown == {**metric(body, shown["id"]), "held_since": shown["held_since"]}


async def test_under_the_anonymise_policy_a_leavers_answers_stay_in_aggregates_only(
    sites: tuple[Site, Site, Site], federation: Federation
) -> None:
    hospital, university, _ = sites
    program = await publish_program(hospital, [university.id], reporting_threshold=2)
    pid = program["id"]
    await known_at(university, pid)
    pairs = await enrol_pairs(sites, program, [("assigned", 1, "nursing", 3, True)] * 2)
    async with httpx.AsyncClient(timeout=60) as client:
        api = FeedbackApi(federation, hospital, client)
        lead = await api.coordinator(hospital.id)

        async def settled() -> Any:
            # the program must be known before its settings can be set
            answer = await api.call(
                "PUT",
                f"/programs/{pid}/feedback-settings",
                lead,
                json={"withdrawal": "anonymise", "export_free_text": True},
            )
            return answer.status_code == 200

        await eventually(settled, within=60)
        partner = await api.call(
            "PUT",
            f"/programs/{pid}/feedback-settings",
            await api.coordinator(university.id),
            json={"withdrawal": "erase"},
        )
        assert partner.status_code == 403  # only the lead sets the policy

        rids = await confirm_pairings(federation, hospital.id, pid, pairs)
        await eventually(lambda: api.windows(pid, "baseline", 2), within=60)
        await finish_relationships(federation, hospital.id, pid, pairs, rids)
        final = {
            w["relationship_id"]: w["id"]
            for w in await eventually(lambda: api.windows(pid, "final", 2), within=60)
        }
        given = []
        for i, (_, _, mentee, _, _) in enumerate(pairs):
            given.append(await api.answer(mentee, final[rids[i]], "mentor-attributes.v1", 4 + i))

        leaver = pairs[0][2]
        response = await hospital.withdraw(leaver, pid)
        assert response.status_code == 200, response.text

        async def unlinked() -> bool:
            mine = await api.call(
                "GET", f"/answers/{given[0]['id']}", await api.participant(leaver)
            )
            return mine.status_code == 403

        await eventually(unlinked, within=60)
        report = await api.ok("GET", f"/programs/{pid}/report", lead)
        rating = metric(report, "mentor-attributes.v1")
        assert rating["total"]["n"] == 2 and rating["total"]["value"] == 4.5  # still counted
        assert metric(report, "enrolled")["total"]["n"] == 4
        assert metric(report, "withdrew")["total"]["value"] == 1 / 4

        got = await api.call("GET", f"/programs/{pid}/export", lead, params={"format": "csv"})
        with zipfile.ZipFile(io.BytesIO(got.content)) as z:
            frame = pd.read_csv(io.BytesIO(z.read("answers.csv")))
            control = json.loads(z.read("codebook.json"))["disclosure_control"]
        # The leaver's answers are in no export. The other relationship, alone in the
        # export, is a class below k = 2 whatever is generalised: withheld, and said so.
        assert len(frame) == 0
        assert (control["relationships_withheld"], control["rows_withheld"]) == (1, 1)
