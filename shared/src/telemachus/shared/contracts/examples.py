"""One realistic example of each wire event, for the catalog integrators read.

Built from each contract's fields: known field names get realistic values (one program of
St Mary's Hospital in which a Northgate University junior mentors a hospital senior), other
fields a value of their type within their constraints. Every example is validated by its
own model, so an example can never drift from the contract.
"""

from __future__ import annotations

import types
from datetime import date, datetime, time
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, MinLen
from pydantic import BaseModel

from telemachus.shared.contracts.base import IntegrationEvent

LEAD, PARTNER = "st-marys-hospital", "northgate-university"
MENTOR, MENTEE = f"{PARTNER}:p-8f3kQ2xZ", f"{LEAD}:p-Qm41aZk9"
PAIRING = "pairing_x7Yq2LmN0aBc"
RELATIONSHIP = f"relationship_{PAIRING}"
WHEN = datetime.fromisoformat("2026-12-01T09:00:00+00:00")

NAMED: dict[str, Any] = {
    "program_id": f"{LEAD}:prog-Apps2026",
    "lead_institution": LEAD,
    "home_institution": PARTNER,
    "partner_institutions": [PARTNER, "harbour-research-centre"],
    "participant_ref": MENTOR,
    "mentor_ref": MENTOR,
    "mentee_ref": MENTEE,
    "counterpart_ref": MENTEE,
    "respondent_ref": MENTEE,
    "recipient": LEAD,
    "kid": f"{LEAD}-seal-20261101",
    "ciphertext": "q3Zl0Xb8N2kTvA9wYc4eR1sPz7LmQ0dFh5Ju2WnK8tGx",
    "title": "Records and apps, 2026 cohort",
    "topic": "e-medicine",
    "topics": ["e-medicine", "apps", "literature-searching"],
    "pairing_id": PAIRING,
    "relationship_id": RELATIONSHIP,
    "round_id": "round_Kd92LmQa",
    "window_id": f"window_{RELATIONSHIP}_baseline",
    "session_id": "session_3Jk9aQ",
    "concern_id": "concern_Zq81mNa0",
    "module_id": "feedback-upward",
    "months_after_end": 3,
    "institution": PARTNER,  # a concern's: the reporter's home, whose contacts act
    "engine": "auction-v1",
    "consented_fields": [
        "profession",
        "career_stage",
        "department",
        "topics_offered",
        "topics_sought",
        "availability",
        "languages",
    ],
    "explanation": ["topic fit +20: e-medicine: priority 5 x proficiency 4", "reverse direction"],
    "department_code": "3f9a1c0b7d2e4f60",
    "languages": ["en"],
    "reporting_line": [],
    "relationship_weeks": 12,
    "planned_sessions": 6,
    "reporting_threshold": 5,
    "sessions_held": 6,
    "held_count": 2,
    "pool_size": 120,
    "proposed": 54,
    "unmatched": 12,
    "score": 31.5,
    "cadence_weeks": 2,
    "career_stage": 2,
    "time_zone": "Europe/London",
    "day": "tue",
    "start": "09:00:00",
    "end": "12:00:00",
    "proficiency": 4,
    "priority": 5,
    "profession": "nursing",
    "max_relationships": 1,
}


def _constraint(metadata: list[Any], kind: type) -> Any:
    return next((m for m in metadata if isinstance(m, kind)), None)


def _value(name: str, annotation: Any, metadata: list[Any]) -> Any:
    if name in NAMED:
        return NAMED[name]
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return _value(name, options[0], metadata)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin is list:
        (item,) = get_args(annotation) or (str,)
        return [_value(name, item, [])]
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return example_of(annotation)
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int):
            low = _constraint(metadata, Ge)
            return max(1, low.ge if low else 1)
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, datetime):
            return WHEN.isoformat().replace("+00:00", "Z")
        if issubclass(annotation, date):
            return WHEN.date().isoformat()
        if issubclass(annotation, time):
            return WHEN.time().isoformat()
    shortest = _constraint(metadata, MinLen)
    return "example" if not shortest else "x" * shortest.min_length


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """JSON-ready values for every field of `model`, validated by the model itself."""
    values = {
        name: _value(name, field.annotation, list(field.metadata))
        for name, field in model.model_fields.items()
    }
    return dict(model.model_validate(values).model_dump(mode="json"))


def event_example(event: type[IntegrationEvent]) -> dict[str, Any]:
    return example_of(event)
