"""Issue 21, in a real browser: the lead's coordinator sets the program's preparation on its
page (a module for junior mentors with a link, a check and its right answer, required
before the first session), sees a bad module come back naming its field with what was typed
kept, and a partner's coordinator sees the modules but no form."""

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


async def test_the_lead_coordinator_sets_the_preparation_in_the_page(
    browser: Browser, federation: Federation
) -> None:
    tag = secrets.token_hex(3)
    async with httpx.AsyncClient(timeout=60) as client:
        hospital, university, _ = await three_sites(federation, client)
        program = await publish_program(hospital, [university.id])
        await known_at(university, program["id"])
        pid = program["id"]
        api = LeadApi(federation, hospital, client, "sessions")

        async def known_to_sessions() -> bool:
            found = await api.call(
                "GET", f"/programs/{pid}/preparation", await api.coordinator(hospital.id)
            )
            return found.status_code == 200

        await eventually(known_to_sessions)

        async with person(
            browser,
            federation,
            hospital.id,
            f"coord-{tag}",
            "preparation-setup",
            groups=groups_for(Role.COORDINATOR),
        ) as coord:
            await coord.sign_in(f"/coordinate/programs/{pid}")
            page = coord.page
            await page.get_by_role("link", name="Preparation and ground rules").click()
            shown = await coord.text()
            assert "This program asks for no preparation." in shown and "appraisal" in shown
            await page.get_by_label("Each person completes the modules of their role").check()
            await page.get_by_label("Title").fill("Giving feedback upward")
            await page.get_by_label("Who it is for").select_option("mentor")
            await page.get_by_label("What to read or watch").fill("https://learning.example/up")
            await page.get_by_label("A question that checks the reading").fill(
                "Your senior misreads a result. What do you do?"
            )
            await page.get_by_label("Its answers, one per line").fill("Say nothing")
            await page.get_by_label("The number of the right answer").fill("2")
            await page.get_by_role("button", name="Save the preparation").click()
            assert "Give two to six answers, one per line." in await coord.text()
            assert await page.get_by_label("Title").input_value() == "Giving feedback upward"
            await coord.step("preparation-refused")
            await page.get_by_label("Its answers, one per line").fill(
                "Say nothing\nShow them, as you would a peer"
            )
            await page.get_by_role("button", name="Save the preparation").click()
            saved = await coord.text()
            assert "The preparation is saved." in saved and "Giving feedback upward" in saved
            await coord.step("preparation-saved")
            assert not coord.violations, coord.violations

        stored = await api.ok(
            "GET", f"/programs/{pid}/preparation", await api.coordinator(hospital.id)
        )
        assert stored["required"] is True
        [module] = stored["modules"]
        assert (module["role"], module["answer"], module["links"]) == (
            "mentor",
            1,
            ["https://learning.example/up"],
        )

        async with person(
            browser,
            federation,
            university.id,
            f"ucoord-{tag}",
            "preparation-setup-partner",
            groups=groups_for(Role.COORDINATOR),
        ) as partner:
            await partner.sign_in(f"/coordinate/programs/{pid}/preparation")
            shown = await partner.text()
            assert "Giving feedback upward" in shown
            assert "The lead institution's coordinators set the preparation." in shown
            save = partner.page.get_by_role("button", name="Save the preparation")
            assert await save.count() == 0
