"""A junior mentor prepares in a real browser: reads the program's ground rules, answers a
module's check wrongly, then rightly, and their coordinators see them ready."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser

from telemachus.cli.federation import Federation
from tests.portal.browser import person
from tests.test_preparation import MODULES
from tests.test_privacy import confirmed_pair, three_sites

pytestmark = pytest.mark.timeout(300)


async def test_a_junior_reads_the_rules_and_completes_their_module(
    browser: Browser, federation: Federation
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        pair = await confirmed_pair(await three_sites(federation, client), client)
        api, pid = pair.sessions, pair.program["id"]
        lead = await api.coordinator(pair.hospital.id)
        await api.ok("PUT", f"/programs/{pid}/preparation", lead, json=MODULES)

        async with person(
            browser, federation, pair.university.id, pair.mentor["subject"], "preparing"
        ) as junior:
            await junior.sign_in(f"/at/{pair.hospital.id}/relationships/{pair.relationship_id}")
            await junior.page.get_by_role("link", name="Read the ground rules and prepare").click()
            shown = await junior.text()
            assert "appraisal" in shown and "Giving feedback to someone senior" in shown
            await junior.step("preparation")
            module = junior.page.locator("#feedback-upward")
            await module.get_by_label("Say nothing").check()
            await module.get_by_role("button", name="Check my answer").click()
            assert "not quite" in await junior.text()
            await junior.step("wrong-answer")
            module = junior.page.locator("#feedback-upward")
            await module.get_by_label("Show them, as you would a peer").check()
            await module.get_by_role("button", name="Check my answer").click()
            after = await junior.text()
            assert "Well answered" in after and "Completed on" in after
            await junior.step("module-completed")
            assert not junior.violations, junior.violations

        record = await api.ok(
            "GET", f"/programs/{pid}/preparation/me", await api.participant(pair.mentor)
        )
        done = {m["id"] for m in record["modules"] if m["completed_at"]}
        assert done == {"feedback-upward"}
