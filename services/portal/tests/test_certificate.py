"""The certificate of contribution, from records shaped as the services give them: it
needs the person's consent, counts their relationships, and names no one else."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from telemachus.portal.adapters.pdf import render
from telemachus.portal.domain.certificate import NoConsent, certificate

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ME = "uni:p-junior"
PROGRAM = {"id": "hosp:prog-apps", "title": "Records and apps", "lead_institution": "hosp"}
NAMES = {"uni": "Northgate University", "hosp": "St Mary's Hospital"}


def me(consented: bool) -> dict[str, Any]:
    return {
        "ref": ME,
        "display_name": "Zoë Łukasiewicz-Nakamura",
        "home_institution": "uni",
        "enrolments": [
            {"program_id": PROGRAM["id"], "recognition_consented_at": None},
            # The latest enrolment in the program speaks.
            {
                "program_id": PROGRAM["id"],
                "recognition_consented_at": "2026-11-30T09:00:00Z" if consented else None,
            },
        ],
    }


def relationship(i: int, status: str, held: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": f"rel-{i}",
        "program_id": PROGRAM["id"],
        "mentor_ref": ME,
        "mentee_ref": f"hosp:p-senior{i}",
        "topic": "e-medicine",
        "starts_on": f"2026-0{i + 1}-01",
        "closed_on": f"2026-0{i + 4}-01" if status != "active" else None,
        "status": status,
        "held": len(held),
        "sessions": [
            {"starts_at": s, "ends_at": e, "status": "held", "place": "Senior's office, ward 4"}
            for s, e in held
        ]
        + [
            {
                "starts_at": "2026-05-01T09:00:00+00:00",
                "ends_at": "2026-05-01T12:00:00+00:00",
                "status": "cancelled",
            }
        ],
        "agreement": {"mentee_objectives": ["learn what Dr Senior wants"]},
    }


RELATIONSHIPS = [
    relationship(0, "completed", [("2026-01-10T09:00:00+00:00", "2026-01-10T10:30:00+00:00")]),
    relationship(1, "ended", [("2026-02-10T09:00:00+00:00", "2026-02-10T10:00:00+00:00")]),
]
RATED = {
    "threshold": 5,
    "ratings": [
        {
            "label": "Your mentor",
            "total": {"n": 6, "value": 4.25},
            "items": [{"group": "My mentor listened actively.", "value": 4.5}],
        }
    ],
}


def test_no_certificate_without_the_persons_consent() -> None:
    with pytest.raises(NoConsent):
        certificate(me(False), PROGRAM, RELATIONSHIPS, RATED, NAMES, {}, date(2026, 11, 30))


def test_a_certificate_counts_what_the_person_did_and_names_no_one_else() -> None:
    made = certificate(
        me(True),
        PROGRAM,
        RELATIONSHIPS,
        RATED,
        NAMES,
        {"e-medicine": "E-medicine"},
        date(2026, 11, 30),
    )
    assert (made.relationships, made.completed, made.sessions_held, made.hours) == (2, 1, 2, 2.5)
    assert made.roles == ["junior mentor"] and made.topics == ["E-medicine"]
    assert (made.first_day, made.last_day) == (date(2026, 1, 1), date(2026, 5, 1))

    text = _text(render(made, FONT))
    assert "Zoë Łukasiewicz-Nakamura" in text  # a name in any script, through the font
    assert "Records and apps" in text and "St Mary's Hospital" in text
    assert "mean agreement 4.2 of 5, from 6 people's answers" in text
    for someone_else in ("senior", "Senior", "ward 4", "hosp:"):
        assert someone_else not in text, someone_else


def test_ratings_below_the_threshold_are_not_shown_and_a_missing_font_still_gives_a_pdf() -> None:
    hidden = {
        "threshold": 5,
        "ratings": [{"label": "Your mentor", "total": {"n": None, "value": None}}],
    }
    made = certificate(me(True), PROGRAM, RELATIONSHIPS, hidden, NAMES, {}, date(2026, 11, 30))
    text = _text(render(made, Path("/nonexistent/font.ttf")))
    assert "not shown. Fewer than 5 people answered" in text
    assert "Zo" in text and "mean agreement" not in text


def _text(pdf: bytes) -> str:
    """The words as a reader extracts them, lines joined."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())
