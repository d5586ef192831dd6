"""E-mails from notices: multipart text and HTML in the recipient's language, a link into
their home portal, and for sessions an iCalendar request or cancellation. The Message-ID
comes from the notice's id, so every attempt at one notice is the same message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.notifications import wording
from telemachus.identity.notifications.invites import session_invite
from telemachus.identity.notifications.notices import Notice, NoticeKind
from telemachus.identity.service_layer.unit_of_work import PROGRAMS, TOPICS
from telemachus.shared.runtime.store import Document
from telemachus.shared.translations import Catalogs

CATALOGS = Path(__file__).parent / "translations"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Addressee:
    address: str
    name: str | None  # None: a role (the coordinators), greeted without a name
    language: str = "en"
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Titles:
    """What the home knows to name things in words: programs and topics by id."""

    programs: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)


async def load_titles(db: AsyncDatabase[Document], notices: Sequence[Notice]) -> Titles:
    program_ids = list({n.program_id for n in notices})
    programs = await db[PROGRAMS].find({"_id": {"$in": program_ids}}, {"title": 1}).to_list()
    topic_ids = list({n.params["topic"] for n in notices if n.params.get("topic")})
    topics = await db[TOPICS].find({"_id": {"$in": topic_ids}}).to_list()
    return Titles(
        {p["_id"]: str(p.get("title") or p["_id"]) for p in programs},
        {t["_id"]: str(t.get("title") or t["_id"]) for t in topics},
    )


def message_id(notice_id: str, sender: str) -> str:
    return f"<{notice_id}@{sender.rpartition('@')[2] or 'telemachus.invalid'}>"


def link_path(notice: Notice) -> str:
    """Where in the portal the person acts on the notice."""
    kind, lead, target = notice.kind, notice.lead, notice.target
    if kind in (NoticeKind.PROPOSAL, NoticeKind.PROPOSAL_ENDING, NoticeKind.PAIRING_CONFIRMED):
        return f"/at/{lead}/proposals/{target}"
    if kind is NoticeKind.PROPOSALS_UNANSWERED:
        return f"/at/{lead}/rounds/{target}"
    if kind in (NoticeKind.CONCERN_REPORTED, NoticeKind.CONCERN_OVERDUE):
        return f"/safeguarding#{target}"  # the contact's page, at this concern
    if kind is NoticeKind.RELATIONSHIP_STALLED:
        return f"/programs/{notice.program_id}"
    if kind in (
        NoticeKind.PROPOSAL_CLOSED,
        NoticeKind.FEEDBACK_DUE,
        NoticeKind.FOLLOW_UP_OPEN,
        NoticeKind.FEEDBACK_CLOSING,
    ):
        return "/"  # the home page lists what is open (feedback forms, waiting status)
    return f"/at/{lead}/relationships/{target}"


class MailComposer:
    def __init__(self, institution: str, sender: str, portal_url: str) -> None:
        self.institution = institution
        self.sender = sender
        self.portal_url = portal_url.rstrip("/")
        self.catalogs = Catalogs.load(CATALOGS)
        self._environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            keep_trailing_newline=True,
        )

    def language_of(self, spoken: list[str]) -> str:
        """The first language the person speaks that we write in; else English."""
        for tag in spoken:
            for code in (tag, tag.replace("-", "_"), tag.split("-")[0]):  # fr-CA reads fr
                if self.catalogs.supports(code):
                    return code
        return "en"

    def url(self, notice: Notice) -> str:
        return self.portal_url + link_path(notice)

    def _values(self, notice: Notice, to: Addressee, titles: Titles) -> dict[str, str]:
        _ = self.catalogs.translations(to.language).gettext
        zone = ZoneInfo(to.time_zone)
        params = notice.params
        values = dict(params)
        values["program"] = titles.programs.get(notice.program_id, notice.program_id)
        topic = params.get("topic")
        if topic is not None:
            values["topic"] = titles.topics.get(topic, topic)
        for name in ("respond_by", "closes_at", "reported_at"):
            if name in params:
                moment = datetime.fromisoformat(params[name]).astimezone(zone)
                values[name] = format_date(moment, "long", locale=to.language)
        for name in ("planned_end", "stalled_since"):
            if name in params:
                values[name] = format_date(
                    datetime.fromisoformat(params[name]), "long", locale=to.language
                )
        if "starts_at" in params:
            starts = datetime.fromisoformat(params["starts_at"]).astimezone(zone)
            values["when"] = format_datetime(starts, "EEEE d MMMM y, HH:mm", locale=to.language)
            values["zone"] = to.time_zone
        for name, words in (
            ("role", wording.ROLES),
            ("reason", wording.REASONS),
            ("how", wording.HOW),
            ("format", wording.FORMATS),
        ):
            if name in params:
                values[name] = _(words.get(params[name], params[name]))
        values.setdefault("topic", "")
        return values

    def _message(
        self, subject: str, to: Addressee, notice_id: str, html: str, text: str
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.institution, self.sender))
        message["To"] = formataddr((to.name or "", to.address))
        message["Subject"] = subject
        message["Date"] = rfc2822_date(datetime.now().astimezone())
        message["Message-ID"] = message_id(notice_id, self.sender)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
        message["List-Unsubscribe"] = f"<{self.portal_url}/settings>"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        # After the content: setting it clears every Content-* header.
        message["Content-Language"] = to.language
        return message

    def summary(self, notice: Notice, to: Addressee, titles: Titles) -> tuple[str, str, str]:
        """(subject, text, action) in the person's language: the e-mail's and the portal's."""
        _ = self.catalogs.translations(to.language).gettext
        words = wording.WORDING[notice.kind]
        values = self._values(notice, to, titles)
        return _(words.subject) % values, _(words.body) % values, _(words.action)

    def compose(self, notice: Notice, to: Addressee, titles: Titles) -> EmailMessage:
        _ = self.catalogs.translations(to.language).gettext
        subject, body, action = self.summary(notice, to, titles)
        url = self.url(notice)
        page = {
            "language": to.language,
            "subject": subject,
            "greeting": (
                _(wording.GREETING) % {"name": to.name} if to.name else _(wording.GREETING_ROLE)
            ),
            "paragraphs": [body],
            "action": action,
            "url": url,
            "footer": _(wording.FOOTER) % {"institution": self.institution},
            "footer_required": _(wording.FOOTER_REQUIRED),
            "required": notice.kind.required,
            "settings_url": f"{self.portal_url}/settings",
        }
        text = self._environment.get_template("notice.txt").render(page)
        html = self._environment.get_template("notice.html").render(page)
        message = self._message(subject, to, notice.id, html, text)
        message["X-Telemachus-Notice"] = str(notice.kind)
        if notice.kind.invites:
            method, ical = session_invite(
                notice,
                attendee=to.address,
                organizer=self.sender,
                organizer_name=self.institution,
                summary=subject,
                description=f"{body}\n\n{url}",
                url=url,
                time_zone=to.time_zone,
            )
            # In the alternatives (Outlook and Google read it there as the invitation) and
            # as a file (for clients that only offer attachments).
            message.add_alternative(
                ical, maintype="text", subtype="calendar", params={"method": method}
            )
            message.add_attachment(
                ical, maintype="application", subtype="ics", filename="invite.ics"
            )
        return message

    def compose_digest(
        self, digest_id: str, notices: list[Notice], to: Addressee, titles: Titles
    ) -> EmailMessage:
        _ = self.catalogs.translations(to.language).gettext
        lines = []
        for notice in notices:
            values = self._values(notice, to, titles)
            lines.append(f"{_(wording.WORDING[notice.kind].subject) % values}: {self.url(notice)}")
        subject = _(wording.DIGEST_SUBJECT)
        page = {
            "language": to.language,
            "subject": subject,
            "greeting": _(wording.GREETING) % {"name": to.name or ""},
            "paragraphs": [_(wording.DIGEST_INTRO), *lines],
            "action": _("Open the portal"),
            "url": f"{self.portal_url}/notifications",
            "footer": _(wording.FOOTER) % {"institution": self.institution},
            "footer_required": "",
            "required": False,
            "settings_url": f"{self.portal_url}/settings",
        }
        text = self._environment.get_template("notice.txt").render(page)
        html = self._environment.get_template("notice.html").render(page)
        message = self._message(subject, to, digest_id, html, text)
        message["X-Telemachus-Notice"] = "digest"
        return message
