"""Render the evaluation page of a synthetic program and screenshot it in headless Chromium.

usage: .venv/bin/python scripts/report_screenshot.py [OUT_DIR]   (default .telemachus/)
Needs Chromium (Debian: apt-get install chromium). Writes report.html and report.png.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from telemachus.feedback.domain.instruments import Role, due
from telemachus.feedback.domain.model import (
    Concern,
    ConcernCategory,
    FeedbackWindow,
    Pairing,
    PairingOutcome,
    Participant,
    Program,
    Relationship,
    RelationshipStatus,
    Response,
)
from telemachus.feedback.reporting import html
from telemachus.feedback.reporting.evaluation import Evaluation, ProgramFacts
from telemachus.shared.contracts.feedback import FeedbackWindowKind
from telemachus.shared.contracts.vocabulary import PairingMode

NOW = datetime.now(UTC)
SITES = {"st-marys": ["medicine", "nursing", "pharmacy"], "northgate": ["research", "education"]}


def synthetic(seed: int = 7, relationships: int = 60) -> ProgramFacts:
    rng = random.Random(seed)
    program = Program(
        id="st-marys:evaluation",
        title="Records and apps, 2026 cohort",
        partner_institutions=["northgate"],
        reporting_threshold=5,
    )
    people, pairings, rels, answers, concerns = [], [], [], [], []
    for i in range(relationships):
        mode = rng.choice(list(PairingMode))
        m_site, e_site = rng.choice(list(SITES)), "st-marys"
        r = Relationship(
            id=f"rel-{i}",
            program_id=program.id,
            mode=mode,
            mentor_ref=f"{m_site}:mentor{i:04}",
            mentee_ref=f"{e_site}:mentee{i:04}",
            mentor_profession=rng.choice(SITES[m_site]),
            mentee_profession="medicine",
            topic="apps",
            starts_on=date(2026, 6, 1),
            sessions_held=rng.randint(0, 6),
            status=rng.choices(list(RelationshipStatus), weights=[2, 6, 1])[0],
        )
        rels.append(r)
        for profession, ref in ((r.mentor_profession, r.mentor_ref), ("medicine", r.mentee_ref)):
            people.append(
                Participant(
                    id=ref,
                    program_id=program.id,
                    ref=ref,
                    institution=ref.split(":")[0],
                    profession=profession,
                    enrolled_at=NOW,
                )
            )
        pairings.append(
            Pairing(
                id=f"p{i}",
                program_id=program.id,
                mode=mode,
                mentor_ref=r.mentor_ref,
                mentee_ref=r.mentee_ref,
                outcome=PairingOutcome.CONFIRMED,
            )
        )
        lift = {PairingMode.ASSIGNED: 0.6, PairingMode.RANKED: 0.9, PairingMode.MIXED: 0.7}[mode]
        for kind in FeedbackWindowKind:
            for role in Role:
                for instrument in due(kind, role):
                    centre = 3 + (lift if kind is FeedbackWindowKind.FINAL else 0)
                    answers.append(
                        Response(
                            id=f"{i}{kind}{role}{instrument.key}",
                            window_id=FeedbackWindow.id_for(r.id, kind),
                            relationship_id=r.id,
                            program_id=program.id,
                            kind=kind,
                            respondent_ref=r.respondents[role],
                            role=role,
                            instrument=instrument.key,
                            answers={
                                item: max(1, min(5, round(rng.gauss(centre, 0.8))))
                                for item in instrument.item_ids()
                            },
                            submitted_at=NOW,
                        )
                    )
        if rng.random() < 0.12:
            concerns.append(
                Concern.report(r, r.mentor_ref, rng.choice(list(ConcernCategory)), None, NOW)
            )
    return ProgramFacts(program, people, pairings, rels, answers, concerns)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".telemachus")
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    page.write_text(html.render(Evaluation(synthetic()).report(NOW)))
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit(f"wrote {page}; no Chromium to screenshot it (apt-get install chromium)")
    shot = out / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={out / 'chromium-profile'}",
            "--window-size=1100,16000",
            "--hide-scrollbars",
            f"--screenshot={shot.resolve()}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {page} and {shot}")


if __name__ == "__main__":
    main()
