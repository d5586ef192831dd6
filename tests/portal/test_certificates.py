"""A junior mentor gets a certificate of their contribution (issue 21, recognition) in a
real browser at their home's portal: refused until they agree, then a PDF that names them
and no one they met, with what five seniors said only as an average. The lead's feedback
tells no coordinator what the seniors said of the junior."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser
from pypdf import PdfReader

from telemachus.cli.federation import Federation
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import enrol, known_at, publish_program
from tests.portal.browser import person
from tests.test_feedback import confirm_pairings
from tests.test_pairing import CONSENT
from tests.test_privacy import three_sites

pytestmark = pytest.mark.timeout(300)
NAME = "Zoë Łukasiewicz"


async def test_a_certificate_only_with_consent_naming_no_one_the_junior_met(
    browser: Browser, federation: Federation
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        hospital, university, _ = await three_sites(federation, client)
        program = await publish_program(hospital, [university.id], title="Records and apps")
        pid = program["id"]
        await known_at(university, pid)
        junior = await university.register(display_name=NAME, career_stage=2)
        await enrol(university, junior, program, CONSENT)
        seniors = []
        for _ in range(5):
            senior = await hospital.register(
                career_stage=5,
                topics_offered=[],
                topics_sought=[{"topic": "e-medicine", "priority": 5}],
            )
            await enrol(hospital, senior, program, CONSENT)
            seniors.append(senior)
        rids = await confirm_pairings(
            federation, hospital.id, pid, [("assigned", junior, s, 0, False) for s in seniors]
        )
        sessions = LeadApi(federation, hospital, client, "sessions")
        feedback = LeadApi(federation, hospital, client, "feedback")

        # Each senior ends their relationship (no fault), and rates the junior at the end.
        for senior, rid in zip(seniors, rids, strict=True):
            token = await sessions.participant(senior)

            async def started(token: dict[str, str] = token, rid: str = rid) -> bool:
                found = await sessions.call("GET", f"/relationships/{rid}", token)
                return found.status_code == 200

            await eventually(started, within=60)
            await sessions.ok(
                "POST",
                f"/relationships/{rid}/exit",
                token,
                json={"reason": "schedule", "rematch": False},
            )
        for i, (senior, rid) in enumerate(zip(seniors, rids, strict=True)):
            await _rate(feedback, senior, rid, 4 if i % 2 else 5)
            said = await _recognition(feedback, junior, pid)
            # Four ratings are fewer than the program's threshold (5): nothing is shown.
            assert said["total"]["suppressed"] is (i < 4), (i, said)
        assert said["total"]["n"] == 5 and said["total"]["value"] == pytest.approx(4.6)
        lead = await feedback.coordinator(hospital.id)
        refused = await feedback.call("GET", "/recognition/me", lead, params={"program_id": pid})
        assert refused.status_code == 403  # a coordinator has no ratings of their own to read

        async with person(
            browser, federation, university.id, junior["subject"], "certificate", name=NAME
        ) as me:
            await me.sign_in("/certificates")
            await me.step("certificates")
            # Before agreeing: refused, and told why.
            answer = await me.context.request.get(f"{me.portal}/certificates/{pid}.pdf")
            assert answer.status == 403 and "not agreed" in await answer.text()
            await me.page.get_by_role(
                "button", name="I agree that a certificate of my contribution is issued to me"
            ).click()
            assert "You agreed on" in await me.text()
            await me.step("agreed")
            answer = await me.context.request.get(f"{me.portal}/certificates/{pid}.pdf")
            assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
            text = _text(await answer.body())
            assert NAME in text and "Records and apps" in text
            assert "Mentoring relationships: 5 (0 completed)" in text
            assert "mean agreement 4.6 of 5, from 5 people's answers" in text
            for senior in seniors:  # no one the junior met: not their name, e-mail or code
                for trace in (senior["display_name"], senior["work_email"], senior["ref"]):
                    assert trace not in text
            assert hospital.id + ":" not in text

            # Taking it back: no certificate any more.
            await me.page.get_by_role("button", name="No longer agree").click()
            answer = await me.context.request.get(f"{me.portal}/certificates/{pid}.pdf")
            assert answer.status == 403
            assert not me.violations, me.violations


async def _rate(feedback: LeadApi, senior: dict[str, Any], rid: str, value: int) -> None:
    token = await feedback.participant(senior)

    async def final_window() -> str | None:
        mine = await feedback.ok("GET", "/feedback/me", token)
        return next(
            (
                w["window"]["id"]
                for w in mine
                if w["window"]["relationship_id"] == rid and w["window"]["kind"] == "final"
            ),
            None,
        )

    window = await eventually(final_window, within=60)
    items = ["patience", "generous-time", "enthusiasm", "responsive", "honest-feedback"]
    items += ["communication", "respects-expertise", "respects-time", "joint-objectives"]
    items += ["environment", "resources", "listens"]
    await feedback.ok(
        "PUT",
        f"/windows/{window}/answers/mentor-attributes.v1",
        token,
        json={"answers": dict.fromkeys(items, value)},
    )


async def _recognition(feedback: LeadApi, junior: dict[str, Any], pid: str) -> dict[str, Any]:
    said = await feedback.ok(
        "GET", "/recognition/me", await feedback.participant(junior), params={"program_id": pid}
    )
    [ratings] = said["ratings"]
    return dict(ratings)


def _text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())
