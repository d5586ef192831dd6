"""Issue 21, circles, in a real browser: the lead's coordinator opens a round of circles
with its sizes on the program page, computes and publishes it; a senior sees on their
proposal that it is a seat in a circle, and why they are in it. When the other senior
declines, the round's page tells the coordinator the circle is below its smallest size."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser

from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role
from tests.helpers.sites import known_at, publish_program
from tests.portal.browser import person
from tests.portal.test_journeys import until_text
from tests.test_pairing import PairingApi, junior, people, senior
from tests.test_privacy import three_sites

pytestmark = pytest.mark.timeout(300)


async def test_a_coordinator_runs_a_round_of_circles_and_a_senior_sees_their_seat(
    browser: Browser, federation: Federation
) -> None:
    tag = secrets.token_hex(3)
    async with httpx.AsyncClient(timeout=60) as client:
        hospital, university, centre = await three_sites(federation, client)
        program = await publish_program(hospital, [university.id, centre.id])
        pid = program["id"]
        await known_at(university, pid)
        await known_at(centre, pid)
        await people(university, program, junior())
        seniors = await people(centre, program, senior(), senior(profession="pharmacy"))
        await (await PairingApi.open(federation, hospital, client)).pool_of(pid, 3)

    async with person(
        browser,
        federation,
        hospital.id,
        f"coord-{tag}",
        "circles",
        groups=groups_for(Role.COORDINATOR),
    ) as coord:
        await coord.sign_in(f"/coordinate/programs/{pid}")
        page = coord.page
        await page.get_by_label("Fewest seniors in a circle").fill("2")
        await page.get_by_label("Most seniors in a circle").fill("3")
        await coord.step("program")
        await page.get_by_role("button", name="Open a round of circles").click()
        opened = await coord.text()
        assert "each junior lead with 2 to 3 seniors on one topic" in opened, opened
        assert "Pin this pair" not in opened  # pins are for pair rounds
        await page.get_by_role("button", name="Compute proposals").click()
        review = await coord.text()
        assert review.count("circle led by") == 2, review
        assert "could join" in review
        await coord.step("circles-review")
        await page.get_by_role("button", name="Publish these proposals").click()
        await coord.step("circles-published")
        assert "below their smallest size" not in await coord.text()
        round_path = urlsplit(page.url).path  # without the published notice's query
        assert not coord.violations, coord.violations

    async with person(browser, federation, centre.id, seniors[0]["subject"], "circles") as member:
        await member.sign_in()
        await until_text(member, "/", "A proposal on E-medicine")
        await member.page.get_by_role("link", name=re.compile("A proposal on E-medicine")).click()
        seat = await member.text()
        assert "A circle" in seat and "one junior lead with several seniors" in seat, seat
        assert "could join" in seat
        await member.step("circle-seat")
        await member.page.get_by_role("button", name="Accept").click()
        assert "Waiting for the other person." in await member.text()
        assert not member.violations, member.violations

    async with httpx.AsyncClient(timeout=60) as client:
        pairing = await PairingApi.open(federation, hospital, client)
        other = await pairing.participant(centre, seniors[1])
        [seat] = await pairing.ok("GET", "/pairings/me", other)
        await pairing.ok(
            "POST", f"/pairings/{seat['id']}/responses", other, json={"decision": "decline"}
        )
    async with person(
        browser,
        federation,
        hospital.id,
        f"coord-{tag}",
        "circles-short",
        groups=groups_for(Role.COORDINATOR),
    ) as coord:
        await coord.sign_in(round_path)
        short = await coord.text()
        assert "Circles below their smallest size" in short, short
        assert "has 1 of its 2 seats still proposed or accepted; it takes at least 2" in short
        await coord.step("circle-short")
        assert not coord.violations, coord.violations
