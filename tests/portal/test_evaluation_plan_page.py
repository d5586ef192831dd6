"""Issue 21, in a real browser: the lead's coordinator sets the program's evaluation plan on
the evaluation page (levels, follow-up months, a goal measured by items of its level with a
target); a goal measured by an item of another level comes back naming the problem, with
what was typed kept; a partner's coordinator sees the goals but no form."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.async_api import Browser

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import known_at, publish_program
from tests.portal.browser import person
from tests.test_privacy import three_sites

pytestmark = pytest.mark.timeout(300)
LEARNING_ITEM = "mentee-outcomes.v1.current-knowledge"
REACTION_ITEM = "mentor-check-in.v1.useful"


async def test_the_lead_coordinator_sets_goals_and_follow_ups_in_the_page(
    browser: Browser, federation: Federation
) -> None:
    tag = secrets.token_hex(3)
    async with httpx.AsyncClient(timeout=60) as client:
        hospital, university, _ = await three_sites(federation, client)
        program = await publish_program(hospital, [university.id])
        await known_at(university, program["id"])
        api = LeadApi(federation, hospital, client, "feedback")
        pid = program["id"]

        async def known_to_feedback() -> bool:
            found = await api.call(
                "GET", f"/programs/{pid}/evaluation-plan", await api.coordinator(hospital.id)
            )
            return found.status_code == 200

        await eventually(known_to_feedback)

        async with person(
            browser,
            federation,
            hospital.id,
            f"coord-{tag}",
            "evaluation-plan",
            groups=groups_for(Role.COORDINATOR),
        ) as coord:
            await coord.sign_in(f"/coordinate/programs/{pid}/evaluation")
            page = coord.page
            assert "The program has no goals yet." in await coord.text()
            await page.get_by_label("Behaviour: what each still does differently at work").check()
            await page.get_by_label("Ask both people again this many months after the end").fill(
                "3, 9"
            )
            # A learning goal measured by a reaction item: the service refuses it.
            await page.get_by_label("The goal, in words").fill("Seniors search the literature")
            await page.get_by_label("Its level").select_option("learning")
            await page.get_by_label("Measured by (choose items of the same level)").select_option(
                [REACTION_ITEM]
            )
            await page.get_by_role("button", name="Save the evaluation plan").click()
            refused = await coord.text()
            assert "measures reaction, not learning" in refused, refused
            assert await page.get_by_label("The goal, in words").input_value() == (
                "Seniors search the literature"
            )
            await coord.step("plan-refused")
            await page.get_by_label("Measured by (choose items of the same level)").select_option(
                [LEARNING_ITEM]
            )
            await page.get_by_label("Target (optional)", exact=False).fill("0.5")
            await page.get_by_role("button", name="Save the evaluation plan").click()
            saved = await coord.text()
            assert "The evaluation plan is saved." in saved
            assert "Seniors search the literature" in saved and "target 0.5" in saved
            await coord.step("plan-saved")
            assert not coord.violations, coord.violations

        plan = await api.ok(
            "GET", f"/programs/{pid}/evaluation-plan", await api.coordinator(hospital.id)
        )
        assert plan["levels"] == ["reaction", "learning", "behaviour", "results"]
        assert plan["follow_up_months"] == [3, 9]
        [goal] = plan["goals"]
        assert (goal["level"], goal["measures"], goal["target"]) == (
            "learning",
            [LEARNING_ITEM],
            0.5,
        )

        async with person(
            browser,
            federation,
            university.id,
            f"ucoord-{tag}",
            "evaluation-plan-partner",
            groups=groups_for(Role.COORDINATOR),
        ) as partner:
            await partner.sign_in(f"/coordinate/programs/{pid}/evaluation")
            shown = await partner.text()
            assert "Seniors search the literature" in shown
            assert "The lead institution's coordinators set the goals." in shown
            assert (
                await partner.page.get_by_role("button", name="Save the evaluation plan").count()
                == 0
            )
