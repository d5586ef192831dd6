"""A certificate of contribution as a one-page PDF (fpdf2).

Names come in every script: a Unicode TrueType font is used where the machine has one
(`TELEMACHUS_CERTIFICATE_FONT`, Debian's DejaVu by default). Without one,
the PDF's core font is used and characters it lacks are shown as "?", which the log says.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fpdf import FPDF

from telemachus.portal.domain.certificate import Certificate

log = logging.getLogger(__name__)


class _Page(FPDF):
    def __init__(self, font: Path | None) -> None:
        super().__init__(format="A4")
        self.family = "Helvetica"
        self.unicode = False
        bold = font.with_name(font.stem + "-Bold.ttf") if font else None
        if font is not None and font.exists():
            self.add_font("Body", "", str(font))
            self.add_font("Body", "B", str(bold if bold and bold.exists() else font))
            self.family, self.unicode = "Body", True
        elif font is not None:
            log.warning("no font at %s: certificates use the core font (Latin-1 only)", font)

    def say(self, text: str, size: float = 11, style: str = "", height: float = 6) -> None:
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        self.set_font(self.family, style, size)
        self.multi_cell(0, height, text, align="L", new_x="LMARGIN", new_y="NEXT")


def render(certificate: Certificate, font: Path | None) -> bytes:
    c = certificate
    page = _Page(font)
    page.set_title(f"Certificate of contribution: {c.program}")
    page.set_author(c.home)
    page.add_page()
    page.say(c.home, 12, "B")
    page.ln(10)
    page.say("Certificate of contribution", 22, "B", 10)
    page.say("Reverse mentoring", 13)
    page.ln(8)
    page.say("This certifies that", 11)
    page.say(c.name, 18, "B", 9)
    page.say(
        f"took part as {' and '.join(c.roles) or 'a participant'} in {c.program}, a reverse "
        f"mentoring program led by {c.lead}.",
    )
    page.ln(6)
    period = (
        f"from {c.first_day:%d %B %Y}" + (f" to {c.last_day:%d %B %Y}" if c.last_day else "")
        if c.first_day
        else "not yet started"
    )
    page.say("Contribution", 13, "B", 8)
    for line in (
        f"Mentoring relationships: {c.relationships} ({c.completed} completed), {period}",
        f"Sessions held: {c.sessions_held} ({c.hours:g} hours)",
        f"Topics: {', '.join(c.topics) or '-'}",
    ):
        page.say(line)
    page.ln(6)
    page.say("What the other party said", 13, "B", 8)
    if not c.ratings:
        page.say("No ratings were given.")
    for rating in c.ratings:
        if rating.mean is None:
            page.say(
                f"{rating.title}: not shown. Fewer than {c.threshold} people answered, and "
                "their answers stay anonymous."
            )
            continue
        page.say(
            f"{rating.title}: mean agreement {rating.mean:.1f} of 5, from {rating.n} people's "
            "answers (1 strongly disagree, 5 strongly agree)."
        )
        for statement, value in rating.items:
            page.say(f"    {value:.1f}   {statement}", 9, height=5)
    page.ln(8)
    page.say(
        f"Issued on {c.issued_on:%d %B %Y} by {c.home} at the request of the person named, "
        "with their consent. It names no one else: what others said is shown only as an "
        f"aggregate of at least {c.threshold} people's answers.",
        9,
        height=5,
    )
    return bytes(page.output())
