"""A person at a portal in a real browser: Debian's Chromium driven by Playwright,
headless, JavaScript off unless a test says otherwise (the core journeys need none).
Every page a journey reaches is checked by axe-core for WCAG 2.2 A/AA, and its
screenshot saved as a test artefact."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page

from telemachus.cli.dev_idp import Account
from telemachus.cli.federation import Federation
from telemachus.cli.portal_browser import PHONE, pass_idp

ARTEFACTS = Path(os.environ.get("TELEMACHUS_ARTEFACTS", ".telemachus/artefacts")) / "portal"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@dataclass
class Person:
    """One person in their own browser context (their own cookies), at their portal."""

    federation: Federation
    institution: str
    login: str
    context: BrowserContext
    page: Page
    journey: str
    auditor: Page  # where axe-core runs: a copy of the page, with scripts on
    violations: dict[str, list[str]] = field(default_factory=dict)
    steps: int = 0

    @property
    def portal(self) -> str:
        return self.federation.portal_url(self.institution)

    async def open(self, path: str) -> None:
        await self.page.goto(self.portal + path)

    async def sign_in(self, path: str = "/") -> None:
        """Through the IdP's pages and back to `path` at the portal."""
        await self.page.goto(f"{self.portal}/sign-in?{urlencode({'next': path})}")
        await self.pass_idp()

    async def pass_idp(self) -> None:
        await pass_idp(self.page, self.login)

    async def step(self, name: str) -> None:
        """A screenshot of where the journey is, and axe-core's findings on the page."""
        self.steps += 1
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(
            path=ARTEFACTS / f"{self.journey}-{self.steps:02d}-{name}.png", full_page=True
        )
        # The page as the person sees it (a POST's answer included), under the portal's
        # origin so its stylesheet applies: axe-core judges contrast from computed styles.
        if not self.auditor.url.startswith(self.portal):
            await self.auditor.goto(self.portal + "/health/live")
        await self.auditor.set_content(await self.page.content())
        results = await Axe().run(
            self.auditor, options={"runOnly": {"type": "tag", "values": WCAG}}
        )
        found = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}x: {v['nodes'][0]['target']})"
            for v in results.response["violations"]
        ]
        if found:
            self.violations[f"{name} {self.page.url}"] = found

    async def text(self) -> str:
        return str(await self.page.locator("main").inner_text())


@asynccontextmanager
async def person(
    browser: Browser,
    federation: Federation,
    institution: str,
    login: str,
    journey: str,
    *,
    name: str | None = None,
    groups: tuple[str, ...] = (),
    javascript: bool = False,
    locale: str = "en-GB",
    **context_options: Any,
) -> AsyncIterator[Person]:
    federation.idps[institution].add(
        Account(login, f"{login}@{institution}.example", name or login, groups)
    )
    context = await browser.new_context(
        viewport=PHONE,
        java_script_enabled=javascript,
        locale=locale,
        **context_options,
    )
    page = await context.new_page()
    # axe-core runs inside a page: it needs scripts even where the journey does not.
    audit = await browser.new_context(viewport=PHONE, locale=locale)
    try:
        yield Person(federation, institution, login, context, page, journey, await audit.new_page())
    finally:
        await context.close()
        await audit.close()
