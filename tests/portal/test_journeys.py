"""The participant's and the coordinators' journeys, in a real browser with JavaScript
off, at each institution's own portal, on the real local broker and store: a hospital
leads a program with a university; a junior nurse at the hospital mentors a professor at
the university on e-medicine. Every page reached is checked by axe-core (WCAG 2.2 A/AA)
and screenshotted (.telemachus/artefacts/portal/)."""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from datetime import date, timedelta

import httpx
import icalendar
import pytest
from playwright.async_api import Browser, FilePayload

from telemachus.cli.dev_idp import COORDINATORS_GROUP, ROLE_GROUPS
from telemachus.cli.federation import Federation
from telemachus.shared.security.tokens import Role
from tests.helpers.sites import Site
from tests.portal.browser import Person, person

pytestmark = pytest.mark.timeout(600)


async def until_text(who: Person, path: str, wanted: str, within: float = 60.0) -> None:
    """Reload until the page shows `wanted`: events between institutions take a moment."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + within
    while True:
        await who.open(path)
        if wanted in await who.text():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} never showed {wanted!r}; it shows:\n{await who.text()}")
        await asyncio.sleep(0.5)


def next_tuesday() -> date:
    today = date.today()
    return today + timedelta(days=(1 - today.weekday()) % 7 or 7)


async def consent_and_join(who: Person) -> None:
    """Tick what pairing needs (nothing is ticked in advance) and agree."""
    for field in (
        "Your career stage",
        "The topics you can teach",
        "The topics you want",
        "Your weekly free times",
        "The languages you speak",
    ):
        await who.page.get_by_label(re.compile(field)).check()
    await who.page.get_by_role("button", name="I agree: join the program").click()
    assert "You are enrolled." in await who.text()


async def fill_profile(who: Person, *, stage: str, offer: str = "", seek: str = "") -> None:
    page = who.page
    await who.open("/profile")
    await page.get_by_label("Profession", exact=True).select_option(
        "nursing" if offer else "medicine"
    )
    await page.get_by_label("Career stage", exact=True).select_option(stage)
    await page.get_by_label("Languages you speak").fill("en")
    if offer:
        await page.get_by_label("How well you can teach E-medicine").select_option(offer)
    if seek:
        await page.get_by_label("How much you want to learn E-medicine").select_option(seek)
    await page.get_by_label("Time zone", exact=True).select_option("Europe/London")
    first = page.get_by_role("group", name="Free time 1")
    await first.get_by_label("Day", exact=True).select_option("tue")
    await first.get_by_label("From", exact=True).fill("09:00" if offer else "10:00")
    await first.get_by_label("To", exact=True).fill("12:00" if offer else "11:00")
    await who.step("profile-filled")
    await page.get_by_role("button", name="Save your profile").click()
    assert "Your profile is saved." in await who.text()


async def test_participant_and_coordinator_journeys(
    browser: Browser, federation: Federation
) -> None:
    hospital, university = federation.institutions[0].id, federation.institutions[1].id
    tag = secrets.token_hex(3)
    ada_login, cleo_login = f"ada-{tag}", f"cleo-{tag}"
    async with httpx.AsyncClient(timeout=30) as client:
        partner_site = await Site.open(federation, 1, client)
        # The university's HR already has the professor on its roster.
        await partner_site.register(
            display_name="Prof Cleo Okafor",
            work_email=f"cleo-{tag}@university.example",
            subject=cleo_login,
            profession="medicine",
            career_stage=5,
            topics_offered=[],
        )

    async with (
        person(
            browser,
            federation,
            hospital,
            f"coord-{tag}",
            "coordinator",
            name="Coordinator Hana",
            groups=(COORDINATORS_GROUP,),
        ) as coord,
        person(browser, federation, hospital, ada_login, "participant", name="Ada Nwosu") as ada,
        person(
            browser, federation, university, cleo_login, "mentee", name="Prof Cleo Okafor"
        ) as cleo,
        person(
            browser,
            federation,
            university,
            f"ucoord-{tag}",
            "partner-coordinator",
            name="Coordinator Uma",
            groups=(COORDINATORS_GROUP,),
        ) as ucoord,
        person(
            browser,
            federation,
            university,
            f"usafe-{tag}",
            "safeguarding-contact",
            name="Safeguarding lead Sam",
            groups=(ROLE_GROUPS[Role.SAFEGUARDING],),
        ) as usafe,
    ):
        # -- Coordinator: create and publish a program with a partner -----------------
        await coord.sign_in("/coordinate")
        await coord.step("programs")
        page = coord.page
        await page.get_by_role("button", name="Publish the program").click()
        assert "give the program a title" in await coord.text()  # nothing typed is lost
        await coord.step("program-refused")
        title = f"Digital health both ways {tag}"
        await page.get_by_label("Title").fill(title)
        await page.get_by_label(re.compile("Northgate University")).check()
        await page.get_by_label("E-medicine").check()
        await page.get_by_role("button", name="Publish the program").click()
        assert title in await coord.text()
        program_path = page.url.split(coord.portal, 1)[1].split("?")[0]
        program_id = program_path.rsplit("/", 1)[1]
        await coord.step("program")

        # -- Coordinator: sync the roster from a CSV file ------------------------------
        roster = (
            "display_name,work_email,subject,profession,career_stage\n"
            f"Ada Nwosu,ada-{tag}@hospital.example,{ada_login},nursing,2\n"
        )
        upload: FilePayload = {
            "name": "roster.csv",
            "mimeType": "text/csv",
            "buffer": roster.encode(),
        }
        await page.get_by_label("Sync the roster").set_input_files(files=[upload])
        await page.get_by_role("button", name="Upload").click()
        for _ in range(60):
            if "Added" in await coord.text():
                break
            await page.reload()
        assert re.search(r"Added\s+1", await coord.text()), await coord.text()
        await coord.step("roster-synced")

        # -- Coordinator: invite a cohort ----------------------------------------------
        await coord.open(program_path)
        await page.get_by_label("Work e-mail addresses").fill(f"ada-{tag}@hospital.example")
        await page.get_by_role("button", name="Invite").click()
        assert "The invitations are sent." in await coord.text()
        await coord.step("invited")

        # -- Junior mentor: sign in, profile, consent, enrol ---------------------------
        await ada.sign_in()
        assert "Hello, Ada Nwosu" in await ada.text()
        await ada.step("home")
        await fill_profile(ada, stage="2", offer="5")
        await ada.open("/")
        await ada.page.get_by_role("link", name=re.compile("You are invited")).click()
        body = await ada.text()
        assert "What is shared, and with whom" in body and "never your name or e-mail" in body
        await ada.step("consent")
        await ada.page.get_by_role("button", name="I agree: join the program").click()
        assert "Tick at least one field" in await ada.text()
        await consent_and_join(ada)
        await ada.step("enrolled")

        # -- Senior mentee at the partner: sign in, profile, join ----------------------
        await cleo.sign_in()
        await fill_profile(cleo, stage="5", seek="5")
        await until_text(cleo, "/", title)
        await cleo.page.get_by_role("link", name=f"Join {title}").click()
        await consent_and_join(cleo)

        # -- Coordinator: run a round, review the explanations, publish ----------------
        for _ in range(120):
            await coord.open(program_path)
            if re.search(r"In the pairing pool[^\n]*\n\s*2", await coord.text()):
                break
            await coord.page.wait_for_timeout(500)
        await coord.step("pool-ready")
        await page.get_by_role("button", name="Open a new round").click()
        await page.get_by_role("button", name="Compute proposals").click()
        round_text = await coord.text()
        assert "mentors" in round_text and "Not matched, and why" in round_text
        await coord.step("round-review")
        # Pin the proposed pair, so that no later computation can drop it, and compute again.
        proposed = page.locator("section .card strong")
        mentor_ref, mentee_ref = (
            await proposed.nth(0).inner_text(),
            await proposed.nth(1).inner_text(),
        )
        await page.get_by_role("button", name="Pin this pair").first.click()
        assert f"Pinned: {mentor_ref} → {mentee_ref}" in await coord.text()
        await page.get_by_role("button", name=re.compile("^Compute")).click()
        assert "pinned" in await coord.text()
        await page.get_by_role("button", name="Publish these proposals").click()
        await coord.step("round-published")

        # -- Both accept the explained proposal ----------------------------------------
        await until_text(ada, "/", "A proposal on E-medicine")
        await ada.page.get_by_role("link", name=re.compile("A proposal on E-medicine")).click()
        proposal = await ada.text()
        assert "Why this person" in proposal and "You mentor" in proposal
        assert "Prof Cleo Okafor" not in proposal  # no one is named before both accept
        await ada.step("proposal")
        await ada.page.get_by_role("button", name="Accept").click()
        assert "Waiting for the other person." in await ada.text()

        await until_text(cleo, "/", "A proposal on E-medicine")
        await cleo.page.get_by_role("link", name=re.compile("A proposal on E-medicine")).click()
        assert "You are mentored" in await cleo.text()
        await cleo.page.get_by_role("button", name="Accept").click()

        # -- The contact card after both accepted; the relationship opens --------------
        await until_text(ada, "/", "you are the mentor")
        await ada.page.get_by_role("link", name=re.compile("you are the mentor")).click()
        relationship_path = ada.page.url.split(ada.portal, 1)[1]
        await until_text(ada, relationship_path, "Prof Cleo Okafor")
        await ada.step("relationship")

        # -- Learning agreement: one proposes, the other agrees ------------------------
        await ada.page.get_by_label("What the mentor will learn").fill(
            "How a professor searches the literature"
        )
        await ada.page.get_by_label("What the mentee will learn").fill(
            "E-prescribing\nThe patient app"
        )
        await ada.page.get_by_role("button", name="Propose", exact=True).click()
        assert "The patient app" in await ada.text()
        await until_text(cleo, "/", "you are the mentee")
        await cleo.page.get_by_role("link", name=re.compile("you are the mentee")).click()
        cleo_relationship = cleo.page.url.split(cleo.portal, 1)[1]
        await cleo.page.get_by_role("button", name="I agree to this learning agreement").click()
        assert "Agreed by both" in await cleo.text()
        await cleo.step("agreement")

        # -- A session inside both people's free time, confirmed by the other ----------
        tuesday = next_tuesday()
        await ada.open(relationship_path)
        await ada.page.get_by_label("Day", exact=True).fill(tuesday.isoformat())
        await ada.page.get_by_label("Starts at").fill("10:00")
        await ada.page.get_by_role("button", name="Propose this time").click()
        assert "a virtual session needs a link" in await ada.text()  # the service's reason
        await ada.page.get_by_label("Meeting link").fill("https://meet.example/ada-cleo")
        await ada.page.get_by_role("button", name="Propose this time").click()
        assert f"{tuesday.isoformat()} 10:00" in await ada.text()
        await cleo.open(cleo_relationship)
        await cleo.page.get_by_role("button", name="Confirm this time").click()
        assert "Scheduled" in await cleo.text()
        await cleo.step("session-confirmed")

        # -- The calendar feed: a subscription URL a calendar app reads ----------------
        await ada.open(relationship_path)
        await ada.page.get_by_role("button", name=re.compile("Subscribe to your sessions")).click()
        feed = await ada.page.get_by_label("Calendar address").input_value()
        await ada.step("calendar")
        async with httpx.AsyncClient() as client:
            calendar = icalendar.Calendar.from_ical((await client.get(feed)).content)
        events = [c for c in calendar.walk("VEVENT")]
        assert len(events) == 1
        assert events[0].decoded("dtstart").date() == tuesday

        # -- Feedback when due ---------------------------------------------------------
        await until_text(ada, relationship_path, "open until")
        await (
            ada.page.locator("section#feedback, section[aria-labelledby=feedback]")
            .get_by_role("link")
            .first.click()
        )
        await ada.step("feedback-form")
        await ada.page.get_by_role("button", name="Send your answers").click()
        assert "Please answer every statement" in await ada.text()
        for group in await ada.page.locator("fieldset.likert").all():
            await group.get_by_label("Agree", exact=True).check()
        await ada.page.get_by_role("button", name="Send your answers").click()
        assert "your answers are saved" in await ada.text()

        # -- A confidential concern, seen and followed up by the coordinator -----------
        await cleo.open(cleo_relationship)
        await cleo.page.get_by_label("What is it about?").select_option("time-burden")
        await cleo.page.get_by_role("button", name="Send in confidence").click()
        assert "in confidence" in await cleo.text()
        await until_text(coord, program_path, "It takes too much time")
        await coord.page.get_by_label("New state").select_option("acknowledged")
        await coord.page.get_by_role("button", name="Record").click()
        assert "Acknowledged" in await coord.text()
        await coord.step("concern-followed-up")
        # The professor's own institution's safeguarding contact closes it with an outcome.
        await usafe.sign_in("/safeguarding")
        assert "It takes too much time" in await usafe.text()
        await usafe.step("concerns")
        # Paused while it is looked into: the professor can plan nothing meanwhile.
        await usafe.page.get_by_label("New state").select_option("in-progress")
        await usafe.page.get_by_label("The relationship").select_option("pause")
        await usafe.page.get_by_role("button", name="Record").click()
        assert "Relationship paused" in await usafe.text()
        await until_text(cleo, cleo_relationship, "paused this relationship")
        await cleo.step("relationship-paused")
        await usafe.open("/safeguarding")
        await usafe.page.get_by_label("New state").select_option("resolved")
        await usafe.page.get_by_role("button", name="Record").click()
        assert "Choose how the concern was resolved" in await usafe.text()
        await usafe.open("/safeguarding")
        await usafe.page.get_by_label("New state").select_option("resolved")
        await usafe.page.get_by_label("Outcome, when resolved").select_option("supported")
        await usafe.page.get_by_label(re.compile("What was done")).fill("talked it through")
        await usafe.page.get_by_role("button", name="Record").click()
        assert "The step is recorded" in await usafe.text()
        assert "talked it through" in await usafe.text()
        await usafe.step("concern-resolved")
        # The professor sees where it stands, not who acted or what they noted.
        await cleo.open(cleo_relationship)
        seen_by_cleo = await cleo.text()
        assert "Resolved" in seen_by_cleo and "talked it through" not in seen_by_cleo
        await until_text(cleo, cleo_relationship, "Propose a session")  # resumed on resolution

        # -- Relationships and the evaluation report in the page; the export ----------
        overview = await coord.text()
        assert "Relationships, stalled first" in overview and "Evaluation" in overview
        await coord.page.get_by_role("link", name="Read the evaluation report").click()
        assert f"Evaluation of {title}" in await coord.text()
        await coord.step("evaluation")
        async with coord.page.expect_download() as download_info:
            await coord.page.get_by_role("link", name="SPSS (.sav)").click()
        download = await download_info.value
        archive = zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes()))
        assert sorted(archive.namelist()) == ["answers.sav", "codebook.json"]

        # -- The partner's coordinator sees only the partner's own people ---------------
        await ucoord.sign_in(f"/coordinate/programs/{program_id}")
        partner_view = await ucoord.text()
        assert re.search(r"In the pairing pool[^\n]*\n\s*1", partner_view), partner_view
        assert "Evaluation" not in partner_view  # the lead's report is the lead's
        rows = [await r.inner_text() for r in await ucoord.page.locator("table tbody tr").all()]
        assert rows and all(university in row for row in rows), rows
        await ucoord.step("partner-program")

        # -- No-fault exit with a rematch ----------------------------------------------
        await ada.open(relationship_path)
        await ada.page.get_by_role("button", name="End the relationship").click()
        assert "choose why" in await ada.text()
        await ada.page.get_by_label("Why (never shown").select_option("schedule")
        await ada.page.get_by_role("button", name="End the relationship").click()
        assert "The relationship has ended." in await ada.text()

        # -- Withdraw and erase, each shown first, each confirmed -----------------------
        await cleo.open("/leave")
        assert "What will happen" in await cleo.text()
        await cleo.step("leave")
        await cleo.page.get_by_role("button", name="Withdraw").click()
        assert "nothing was changed" in await cleo.text()
        await cleo.page.get_by_label(f"Yes, withdraw me from {title}").check()
        await cleo.page.get_by_role("button", name="Withdraw").click()
        assert "You have withdrawn" in await cleo.text()

        await ada.open("/leave")
        await ada.page.get_by_label("Yes, erase my personal data").check()
        await ada.page.get_by_role("button", name="Erase my data").click()
        assert "Your personal data has been erased." in await ada.text()
        await ada.open("/profile")
        assert "not on the roster" in (await ada.text()).lower()

        violations = {**coord.violations, **ada.violations, **cleo.violations, **ucoord.violations}
        assert not violations, violations
