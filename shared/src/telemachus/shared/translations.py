"""Text in the person's language: gettext catalogs (Babel's .po files, shipped in a
package and read at start), the language chosen by the person's setting, else by the
browser's Accept-Language, else English. The portal's pages and identity's e-mails."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DEFAULT = "en"
DOMAIN = "messages"


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself, as a switcher shows it


class Catalogs:
    def __init__(self, translations: dict[str, gettext.NullTranslations]) -> None:
        self._translations = translations
        self.languages = [
            Language(code, Locale.parse(code).get_display_name(code) or code)
            for code in sorted(translations)
        ]

    @classmethod
    def load(cls, folder: Path) -> Catalogs:
        """Every `<language>/LC_MESSAGES/messages.po` under `folder`, English built in."""
        found: dict[str, gettext.NullTranslations] = {DEFAULT: gettext.NullTranslations()}
        for po in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            with po.open("rb") as file:
                catalog = read_po(file, locale=po.parents[1].name)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            found[po.parents[1].name] = gettext.GNUTranslations(compiled)
        return cls(found)

    def supports(self, code: str | None) -> bool:
        return code in self._translations

    def translations(self, code: str) -> gettext.NullTranslations:
        return self._translations.get(code, self._translations[DEFAULT])

    def negotiate(self, preferred: str | None, accept_language: str | None) -> str:
        if preferred and preferred in self._translations:
            return preferred
        wanted = []
        for part in (accept_language or "").split(","):
            tag, _, quality = part.strip().partition(";q=")
            try:
                weight = float(quality) if quality else 1.0
            except ValueError:
                continue
            if tag:
                wanted.append((weight, tag.replace("-", "_")))
        ordered = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
        try:
            chosen = Locale.negotiate(ordered, list(self._translations), sep="_")
        except (UnknownLocaleError, ValueError):
            chosen = None
        return str(chosen) if chosen else DEFAULT
