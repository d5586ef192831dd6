"""Every text the portal shows is in the catalogs, and French is complete."""

from __future__ import annotations

from pathlib import Path

from telemachus.portal.translations import CATALOGS, portal_catalogs
from telemachus.shared.testing.catalogs import extracted, lost_placeholders, untranslated

SOURCE = Path(__file__).resolve().parents[1] / "src" / "telemachus" / "portal"
FRENCH = CATALOGS / "fr" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def test_french_translates_every_message_the_portal_shows() -> None:
    messages = extracted(SOURCE, METHODS)
    missing = untranslated(messages, FRENCH)
    assert not missing, f"not in French (run make translations): {missing}"
    assert len(messages) > 300  # the extraction found the templates


def test_french_keeps_every_placeholder() -> None:
    assert lost_placeholders(FRENCH) == []


def test_the_language_is_the_persons_setting_then_the_browsers_then_english() -> None:
    catalogs = portal_catalogs()
    assert catalogs.negotiate("en", "fr-FR,fr;q=0.9") == "en"
    assert catalogs.negotiate(None, "de-DE,fr;q=0.5,en;q=0.4") == "fr"
    assert catalogs.negotiate(None, "de-DE") == "en"
    assert catalogs.negotiate(None, "en;q=garbage,fr") == "fr"
    assert catalogs.negotiate(None, None) == "en"
    assert catalogs.translations("fr").gettext("Sign out") == "Se déconnecter"
