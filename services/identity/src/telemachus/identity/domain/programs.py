"""Programs: led by one institution, joined by partners; partners keep a copy."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date
from typing import Any

from telemachus.identity.domain.events import ProgramPublished, ProgramUpdated
from telemachus.shared.contracts.vocabulary import InstitutionId, PairingMode, TopicId
from telemachus.shared.domain import Aggregate
from telemachus.shared.errors import Forbidden, Rejected


def new_id() -> str:
    """Opaque, unguessable ids: nothing about the person or program can be read from them."""
    return secrets.token_urlsafe(12)


class Program(Aggregate):
    lead_institution: InstitutionId
    partner_institutions: list[InstitutionId]
    title: str
    topics: list[TopicId]
    pairing_mode: PairingMode
    relationship_weeks: int
    planned_sessions: int
    reporting_threshold: int
    enrolment_opens: date
    enrolment_closes: date

    @classmethod
    def publish(cls, *, known_topics: Iterable[str], **terms: Any) -> Program:
        program = cls(id=f"{terms['lead_institution']}:{new_id()}", **terms)
        program._check(set(known_topics))
        program.record(ProgramPublished(program))
        return program

    def update(self, changes: dict[str, Any], known_topics: Iterable[str]) -> None:
        """Change terms; what participants already consented under can only get stricter."""
        if not set(self.topics) <= set(changes.get("topics", self.topics)):
            raise Rejected(
                "topics can be added, not removed: people enrolled for them", field="topics"
            )
        partners = changes.get("partner_institutions", self.partner_institutions)
        if not set(self.partner_institutions) <= set(partners):
            raise Rejected(
                "partners can be added, not removed: their people are enrolled",
                field="partner_institutions",
            )
        if changes.get("reporting_threshold", self.reporting_threshold) < self.reporting_threshold:
            raise Rejected(
                "the reporting threshold can only be raised: people took part under it",
                field="reporting_threshold",
            )
        changed = tuple(k for k, v in changes.items() if getattr(self, k) != v)
        if not changed:
            return
        candidate = self.model_copy(update=changes)
        candidate._check(set(known_topics))
        for key in changed:
            setattr(self, key, changes[key])
        self.record(ProgramUpdated(self, changed))

    def replace_terms(self, terms: dict[str, Any]) -> None:
        """A partner's copy follows the lead's latest terms."""
        for key, value in terms.items():
            setattr(self, key, value)

    def _check(self, known_topics: set[str]) -> None:
        if self.lead_institution in self.partner_institutions:
            raise Rejected(
                "the lead institution cannot also be a partner", field="partner_institutions"
            )
        if len(set(self.partner_institutions)) != len(self.partner_institutions):
            raise Rejected("a partner is listed twice", field="partner_institutions")
        if len(set(self.topics)) != len(self.topics):
            raise Rejected("a topic is listed twice", field="topics")
        unknown = sorted(set(self.topics) - known_topics)
        if unknown:
            raise Rejected(
                f"not in this institution's topic catalogue: {', '.join(unknown)}",
                field="topics",
            )
        if self.enrolment_closes < self.enrolment_opens:
            raise Rejected("enrolment closes before it opens", field="enrolment_closes")

    def check_led_by(self, institution: str) -> None:
        if institution != self.lead_institution:
            raise Forbidden(
                f"program {self.id} is led by {self.lead_institution}; only its coordinators "
                "change it",
                field="program_id",
            )

    def check_open_to(self, institution: str, on: date) -> None:
        if institution != self.lead_institution and institution not in self.partner_institutions:
            raise Rejected(
                f"{institution} is not a partner of program {self.id}", field="program_id"
            )
        if not self.enrolment_opens <= on <= self.enrolment_closes:
            raise Rejected(
                f"enrolment is open from {self.enrolment_opens} to {self.enrolment_closes}",
                field="program_id",
            )
