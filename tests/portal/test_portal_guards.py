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
from tests.helpers.sites import Site, publish_program
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


async def tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text or label contains `name`."""
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
        if name in text:
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def test_a_participant_joins_a_program_with_the_keyboard_alone(
    browser: Browser, federation: Federation
) -> None:
    hospital = federation.institutions[0].id
    login = f"keys-{secrets.token_hex(3)}"
    await registered(federation, login, display_name="Kay Board")
    title = f"Keyboard program {secrets.token_hex(2)}"
    await open_program(federation, title)
    async with person(browser, federation, hospital, login, "keyboard", javascript=True) as kay:
        page = kay.page
        await kay.open("/")
        await tab_to(page, "Sign in with")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await kay.pass_idp()  # the IdP's own pages are not ours to test
        assert "Hello, Kay Board" in await kay.text()
        await tab_to(page, f"Join {title}")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        for field in ("field-career_stage", "field-topics_offered", "field-topics_sought"):
            await tab_to(page, field)
            await page.keyboard.press("Space")
        await tab_to(page, "I agree: join the program")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "You are enrolled." in await kay.text()
        await kay.step("enrolled-by-keyboard")
        # The profile, by keyboard too: a field typed, the form sent.
        await tab_to(page, "Profile")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await tab_to(page, "languages")
        await page.keyboard.type(", fr")
        await tab_to(page, "Save your profile")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "Your profile is saved." in await kay.text()
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
        await lea.page.get_by_role("button", name="Enregistrer").click()
        assert "Your language is saved." in await lea.text()
        await lea.open("/profile")
        assert "Your profile" in await lea.text()
        assert await lea.page.get_attribute("html", "lang") == "en"
        assert not lea.violations, lea.violations
