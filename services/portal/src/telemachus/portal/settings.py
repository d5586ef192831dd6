"""The portal's settings from the environment, under the same prefix as the services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from telemachus.shared.contracts.topics import SERVICES, check_institution_id
from telemachus.shared.runtime.settings import InstitutionSettings

SERVICE = "portal"


class PortalSettings(InstitutionSettings):
    """e.g. TELEMACHUS_INSTITUTION=st-marys-hospital
    TELEMACHUS_PORTAL_URL=https://mentoring.st-marys.example
    TELEMACHUS_PORTAL_SERVICES=st-marys-hospital/identity=https://identity.st-marys.example,...
    """

    # Where people reach the portal: the IdP sends them back to <portal_url>/callback, and
    # an https URL makes the session cookie Secure and __Host- prefixed.
    portal_url: str = "http://127.0.0.1:8080"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # Every service the portal calls, own institution's and each lead's it may need:
    # "<institution>/<service>=<base url>", comma-separated.
    portal_services: Annotated[dict[tuple[str, str], str], NoDecode] = Field(default_factory=dict)
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str | None = None
    trust_registry_file: Path | None = None
    # The institution's IdP (its issuer is the trust registry's oidc_issuer); its claims
    # and groups are read as for the services (InstitutionSettings).
    oidc_client_id: str = "telemachus-portal"
    # A session lasts as long as the IdP's access token, and never longer than this.
    session_max_seconds: int = Field(default=8 * 3600, ge=60)
    service_timeout_seconds: float = Field(default=15.0, gt=0)
    # A Unicode TrueType font for certificates (names in every script); its "-Bold"
    # sibling is used for headings where it exists. Debian's fonts-dejavu-core by default.
    certificate_font: Path | None = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

    @property
    def service(self) -> str:
        return SERVICE

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"telemachus-{self.institution}-{SERVICE}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.portal_url.rstrip('/')}/callback"

    @property
    def secure_cookies(self) -> bool:
        return self.portal_url.startswith("https://")

    def service_url(self, institution: str, service: str) -> str | None:
        return self.portal_services.get((institution, service))

    @field_validator("portal_services", mode="before")
    @classmethod
    def _directory(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        directory: dict[tuple[str, str], str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, url = item.partition("=")
            institution, slash, service = name.partition("/")
            if not sep or not slash or service not in SERVICES or not url.startswith("http"):
                raise ValueError(
                    f"{item!r}: expected <institution>/<service>=<url>, the service one of "
                    f"{', '.join(SERVICES)}"
                )
            directory[(check_institution_id(institution), service)] = url.rstrip("/")
        return directory
