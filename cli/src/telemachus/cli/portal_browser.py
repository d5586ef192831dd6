"""A headless Chromium at a portal: Debian's browser, driven by Playwright (no browser
download). The demo saves what a coordinator sees with it; the tests drive journeys."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

CHROMIUM = os.environ.get("TELEMACHUS_CHROMIUM", "/usr/bin/chromium")
PHONE: ViewportSize = {"width": 360, "height": 780}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    # Imported here: only development installs carry Playwright.
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def pass_idp(page: Page, login: str, password: str = "development") -> None:
    """The development IdP's pages, as a person fills them: login, then consent."""
    if await page.locator("input[name=login]").count():
        await page.fill("input[name=login]", login)
        await page.fill("input[name=password]", password)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
    while "/interaction/" in page.url:
        async with page.expect_navigation():
            await page.click("button[type=submit]")


async def snapshot(portal: str, login: str, path: str, out: Path) -> Path | None:
    """A full-page screenshot of `path` at the portal, signed in as `login`; None where
    there is no Chromium (or no Playwright) here."""
    if not os.access(CHROMIUM, os.X_OK):
        return None
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport=DESKTOP)
            await page.goto(f"{portal}/sign-in?next={path}")
            await pass_idp(page, login)
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=out, full_page=True)
    except ImportError:
        return None
    except Exception as error:  # a screenshot is a courtesy: the demo stands without it
        print(f"no screenshot of the portal: {type(error).__name__}: {error}", flush=True)
        return None
    return out
