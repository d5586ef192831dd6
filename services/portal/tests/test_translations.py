"""Every text the portal shows is in the catalogs, and French is complete."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from telemachus.portal.translations import CATALOGS, Catalogs

SOURCE = Path(__file__).resolve().parents[1] / "src" / "telemachus" / "portal"


def extracted() -> set[str]:
    """The messages in the code and templates, as `pybabel extract -F babel.cfg` finds them."""
    found = extract_from_dir(
        str(SOURCE),
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={**DEFAULT_KEYWORDS, "N_": None},
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_french_translates_every_message_the_portal_shows() -> None:
    with (CATALOGS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        french = read_po(file)
    translated = {m.id for m in french if m.id and m.string and not m.fuzzy}
    missing = sorted(extracted() - translated)
    assert not missing, f"not in French (run pybabel update): {missing}"
    assert len(extracted()) > 300  # the extraction found the templates


def test_french_keeps_every_placeholder() -> None:
    with (CATALOGS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        french = read_po(file)
    import re

    for message in french:
        if message.id:
            wanted = sorted(re.findall(r"%\((\w+)\)s", str(message.id)))
            assert sorted(re.findall(r"%\((\w+)\)s", str(message.string))) == wanted, message.id


def test_the_language_is_the_persons_setting_then_the_browsers_then_english() -> None:
    catalogs = Catalogs.load()
    assert catalogs.negotiate("en", "fr-FR,fr;q=0.9") == "en"
    assert catalogs.negotiate(None, "de-DE,fr;q=0.5,en;q=0.4") == "fr"
    assert catalogs.negotiate(None, "de-DE") == "en"
    assert catalogs.negotiate(None, "en;q=garbage,fr") == "fr"
    assert catalogs.negotiate(None, None) == "en"
    assert catalogs.translations("fr").gettext("Sign out") == "Se déconnecter"
