"""What the portal promises besides the journeys, each tried in a real browser on the
real local broker and store: keyboard-only use, sign-in again after a session expires
(back to the same page), forms that change nothing twice and refuse what our pages did not
send, refusals as words (never a stack trace or JSON), strict headers, and the person's
language."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from telemachus.cli.dev_idp import COORDINATORS_GROUP
from telemachus.cli.federation import Federation
from telemachus.shared.testing.kafka import eventually
from tests.helpers.sites import CONSENT, Site, proposal_to, publish_as_lead, publish_program
from tests.portal.browser import person

pytestmark = pytest.mark.timeout(300)


async def registered(federation: Federation, login: str, **profile: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        site = await Site.open(federation, 0, client)
        return await site.register(subject=login, **profile)


async def open_program(federation: Federation, title: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        site = await Site.open(federation, 0, client)
        return await publish_program(site, [], title=title)


async def tab_to(page: Page, name: str, limit: int = 80, exact: bool = False) -> None:
    """Press Tab until the focused element's text, label or id contains (or is) `name`."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        text = " ".join(
            filter(
                None,
                [
                    await focused.inner_text() if await focused.count() else "",
                    await focused.get_attribute("aria-label") if await focused.count() else "",
                    await focused.get_attribute("id") if await focused.count() else "",
                ],
            )
        )
        if (name == text.strip()) if exact else (name in text):
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def keys(page: Page, key: str) -> None:
    """A key that leads to another page."""
    async with page.expect_navigation():
        await page.keyboard.press(key)


async def test_the_participant_journey_with_the_keyboard_alone(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login, senior = f"keys-{secrets.token_hex(3)}", f"senior-{secrets.token_hex(3)}"
    free = {
        "time_zone": "Europe/London",
        "slots": [{"day": "tue", "start": "09:00", "end": "12:00"}],
    }
    await registered(federation, login, display_name="Kay Board", availability=free)
    title = f"Keyboard program {secrets.token_hex(2)}"
    program = await open_program(federation, title)
    async with httpx.AsyncClient(timeout=30) as client:
        site = await Site.open(federation, 0, client)
        # A senior colleague to be paired with, enrolled through the API.
        them = await site.register(
            subject=senior,
            profession="medicine",
            career_stage=4,
            topics_offered=[],
            topics_sought=[{"topic": "e-medicine", "priority": 5}],
            availability=free,
        )
        enrolled = await site.call(
            "POST",
            f"/participants/{them['id']}/enrolments",
            await site.person(senior),
            json={"program_id": program["id"], "consented_fields": CONSENT},
        )
        assert enrolled.status_code == 201, enrolled.text
    async with person(browser, federation, hospital, login, "keyboard", javascript=True) as kay:
        page = kay.page
        await kay.open("/")
        await tab_to(page, "Sign in with")
        await keys(page, "Enter")
        await kay.pass_idp()  # the IdP's own pages are not ours to test
        assert "Hello, Kay Board" in await kay.text()
        await tab_to(page, f"Join {title}")
        await keys(page, "Enter")
        for field in (
            "field-career_stage",
            "field-topics_offered",
            "field-topics_sought",
            "field-availability",
        ):
            await tab_to(page, field)
            await page.keyboard.press("Space")
        await tab_to(page, "I agree: join the program")
        await keys(page, "Enter")
        assert "You are enrolled." in await kay.text()
        await kay.step("enrolled-by-keyboard")
        # The profile, by keyboard too: a field typed, the form sent.
        await tab_to(page, "Profile")
        await keys(page, "Enter")
        await tab_to(page, "languages")
        await page.keyboard.type(", fr")
        await tab_to(page, "Save your profile")
        await keys(page, "Enter")
        assert "Your profile is saved." in await kay.text()

        # The coordinators run a round (their own journey is tested elsewhere).
        pairing = federation.url(hospital, "pairing")
        async with httpx.AsyncClient(timeout=30, headers=site.coordinator) as client:

            async def both_in_pool() -> bool:
                pool = await client.get(f"{pairing}/programs/{program['id']}/pool")
                return pool.status_code == 200 and len(pool.json()) == 2

            await eventually(both_in_pool, within=60)
            opened = (
                await client.post(f"{pairing}/programs/{program['id']}/rounds", json={})
            ).json()
            await client.post(f"{pairing}/rounds/{opened['id']}/compute")
            published = (await client.post(f"{pairing}/rounds/{opened['id']}/publish")).json()
            (proposal,) = published["pairings"]

        # The proposal, accepted with the keyboard.
        await kay.open("/")
        await tab_to(page, "A proposal on")
        await keys(page, "Enter")
        assert "Why this person" in await kay.text()
        await tab_to(page, "Accept", exact=True)
        await keys(page, "Enter")
        assert "Waiting for the other person." in await kay.text()
        as_senior = await federation.sign_in(hospital, senior, audience=hospital)
        async with httpx.AsyncClient(timeout=30) as client:
            answered = await client.post(
                f"{pairing}/pairings/{proposal['id']}/responses",
                headers={"Authorization": f"Bearer {as_senior}"},
                json={"decision": "accept"},
            )
            assert answered.status_code == 200, answered.text

        # The relationship, and the learning agreement proposed with the keyboard.
        for _ in range(120):
            await kay.open("/")
            if "you are the mentor" in await kay.text():
                break
            await page.wait_for_timeout(500)
        await tab_to(page, "you are the mentor")
        await keys(page, "Enter")
        await tab_to(page, "mentor_objectives")
        await page.keyboard.type("How a consultant runs a ward round")
        await tab_to(page, "mentee_objectives")
        await page.keyboard.type("Video consultations")
        await tab_to(page, "Propose", exact=True)
        await keys(page, "Enter")
        assert "The agreement is proposed" in await kay.text()
        await kay.step("agreement-by-keyboard")
        assert not kay.violations, kay.violations


async def test_an_expired_session_signs_in_again_and_returns_to_the_same_page(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login = f"late-{secrets.token_hex(3)}"
    await registered(federation, login, display_name="Lee Late")
    async with person(browser, federation, hospital, login, "expiry") as lee:
        await lee.sign_in("/profile?section=topics")
        assert lee.page.url.endswith("/profile?section=topics")
        store = federation.portals[hospital].app.state.store
        await store.db["sessions"].update_many(
            {"subject": login}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
        )
        await lee.open("/profile?section=topics")
        await lee.pass_idp()
        assert lee.page.url == f"{lee.portal}/profile?section=topics"
        assert "Your profile" in await lee.text()


async def test_a_form_sent_twice_changes_nothing_twice(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login = f"twice-{secrets.token_hex(3)}"
    title = f"Sent twice {secrets.token_hex(3)}"
    async with person(
        browser, federation, hospital, login, "twice", groups=(COORDINATORS_GROUP,)
    ) as coord:
        await coord.sign_in("/coordinate")
        form = coord.page.locator("form[action='/coordinate/programs']")
        fields: dict[str, str | float | bool] = {
            "csrf": await form.locator("input[name=csrf]").input_value(),
            "form_id": await form.locator("input[name=form_id]").input_value(),
            "title": title,
            "topic": "apps",
            "mode": "assigned",
            "weeks": "12",
            "sessions": "6",
            "opens": await form.locator("input[name=opens]").input_value(),
            "closes": await form.locator("input[name=closes]").input_value(),
        }
        url = f"{coord.portal}/coordinate/programs"
        first = await coord.context.request.post(url, form=fields, max_redirects=0)
        second = await coord.context.request.post(url, form=fields, max_redirects=0)
        assert first.status == second.status == 303
        assert first.headers["location"] == second.headers["location"]
        await coord.open("/coordinate")
        assert (await coord.text()).count(title) == 1

        # A form whose CSRF token is not this session's changes nothing.
        forged: dict[str, str | float | bool] = {
            **fields,
            "csrf": "forged",
            "form_id": "another",
            "title": title + " again",
        }
        refused = await coord.context.request.post(url, form=forged)
        assert refused.status == 403
        assert "This form has expired" in await refused.text()
        await coord.open("/coordinate")
        assert title + " again" not in await coord.text()


async def test_refusals_are_words_not_stack_traces(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login = f"lost-{secrets.token_hex(3)}"
    await registered(federation, login, display_name="Lou Lost")
    async with person(browser, federation, hospital, login, "refusals") as lou:
        await lou.sign_in()
        for path, status, words in (
            (f"/at/{hospital}/relationships/not-a-relationship", 404, "Not found"),
            (f"/at/{hospital}/proposals/not-a-pairing", 404, "Not found"),
            ("/coordinate", 403, "That is not open to you"),
            ("/safeguarding", 403, "safeguarding contacts"),
            ("/no-such-page", 404, "Not found"),
            ("/callback?state=forged&code=x", 400, "That sign-in link has expired"),
        ):
            answer = await lou.page.goto(lou.portal + path)
            assert answer is not None and answer.status == status, (path, answer and answer.status)
            shown = await lou.text()
            assert words in shown, (path, shown)
            html = await lou.page.content()
            assert "Traceback" not in html and '{"detail"' not in html, path
            await lou.step(f"refused-{status}")
        # After sign-in, only a path on this portal: never another site.
        await lou.page.goto(f"{lou.portal}/sign-in?next=https://elsewhere.example/")
        assert lou.page.url.startswith(lou.portal)
        assert not lou.violations, lou.violations


async def test_every_answer_carries_strict_headers_and_no_outside_asset(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login = f"safe-{secrets.token_hex(3)}"
    await registered(federation, login, display_name="Sam Safe")
    async with person(browser, federation, hospital, login, "headers") as sam:
        await sam.sign_in()
        for path in ("/", "/profile", "/settings", "/leave", "/no-such-page"):
            answer = await sam.page.goto(sam.portal + path)
            assert answer is not None
            headers = await answer.all_headers()
            policy = headers["content-security-policy"]
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert "script-src" not in policy  # no script at all, from anywhere
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["cache-control"] == "no-store"
            html = await sam.page.content()
            assert "<script" not in html
            outside = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
            assert not outside, outside
        cookie = next(c for c in await sam.context.cookies() if c["name"] == "telemachus-session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


async def test_pages_speak_the_persons_language(browser: Browser, federation: Federation) -> None:
    hospital = federation.institutions[0].id
    login = f"lang-{secrets.token_hex(3)}"
    await registered(federation, login, display_name="Léa Langue")
    async with person(browser, federation, hospital, login, "language", locale="fr-FR") as lea:
        await lea.open("/")
        assert "Se connecter avec" in await lea.text()
        assert await lea.page.get_attribute("html", "lang") == "fr"
        await lea.step("welcome-fr")
        await lea.sign_in()
        await lea.open("/profile")
        assert "Votre profil" in await lea.text()
        await lea.step("profile-fr")
        # Her setting wins over her browser's.
        await lea.open("/settings")
        await lea.page.get_by_label("English").check()
        await lea.page.get_by_role("button", name="Enregistrer", exact=True).click()
        assert "Your language is saved." in await lea.text()
        await lea.open("/profile")
        assert "Your profile" in await lea.text()
        assert await lea.page.get_attribute("html", "lang") == "en"
        assert not lea.violations, lea.violations


async def test_notifications_are_listed_read_and_their_e_mail_chosen(
    browser: Browser, federation: Federation
) -> None:
    """Issue 18: the portal lists a person's notices in their language, marks them read,
    and keeps which ones also come by e-mail."""
    hospital = federation.institutions[0]
    login = f"notified-{secrets.token_hex(3)}"
    program = await open_program(federation, "Noticed")
    async with httpx.AsyncClient(timeout=30) as client:
        site = await Site.open(federation, 0, client)
        nina = await site.register(subject=login, display_name="Nina Notified")
        enrolled = await site.call(
            "POST",
            f"/participants/{nina['id']}/enrolments",
            await site.person(login),
            json={"program_id": program["id"], "consented_fields": CONSENT},
        )
        assert enrolled.status_code == 201, enrolled.text
    event = proposal_to(hospital.id, program["id"], nina, datetime.now(UTC) + timedelta(days=14))
    await publish_as_lead(federation, event, "pairing")
    async with person(
        browser, federation, hospital.id, login, "notifications", locale="fr-FR"
    ) as nina_page:
        await nina_page.sign_in("/notifications")

        async def listed() -> bool:
            await nina_page.open("/notifications")
            return "Un binôme de mentorat vous est proposé" in await nina_page.text()

        await eventually(listed)
        assert "Non lues : 1" in await nina_page.text()
        await nina_page.step("notifications-fr")
        link = nina_page.page.get_by_role("link", name="Répondre à la proposition")
        assert await link.get_attribute("href") == f"/at/{hospital.id}/proposals/{event.pairing_id}"
        await nina_page.page.get_by_role("button", name="Tout marquer comme lu").click()
        assert "Toutes les notifications sont marquées comme lues." in await nina_page.text()
        assert "Non lues : 0" in await nina_page.text()

        await nina_page.open("/settings")
        await nina_page.page.get_by_label("Invitations aux séances et changements").uncheck()
        await nina_page.page.get_by_label("Un récapitulatif par semaine").check()
        await nina_page.page.get_by_role("button", name="Enregistrer les réglages d'e-mail").click()
        assert "Vos réglages d'e-mail sont enregistrés." in await nina_page.text()
        await nina_page.step("email-settings-fr")
        assert not await nina_page.page.get_by_label(
            "Invitations aux séances et changements"
        ).is_checked()
        assert await nina_page.page.get_by_label("Propositions et binômes").is_checked()
        assert await nina_page.page.get_by_label("Un récapitulatif par semaine").is_checked()
        assert not nina_page.violations, nina_page.violations
