"""What each notice says, in English; translations are in the catalogs (`make
translations`). Placeholders are filled from the notice's params and what the home knows
(topic and program titles, the recipient's name): never a counterpart's name."""

from __future__ import annotations

from dataclasses import dataclass

from telemachus.identity.notifications.notices import NoticeKind


def N_(text: str) -> str:  # marks text for extraction; translated when sent
    return text


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str
    action: str


WORDING: dict[NoticeKind, Wording] = {
    NoticeKind.PROPOSAL: Wording(
        N_("A mentoring partner is proposed for you"),
        N_(
            "The program %(program)s proposes a partner for you on %(topic)s, with you as "
            "the %(role)s. Their name is shown once you have both accepted. Please answer "
            "by %(respond_by)s."
        ),
        N_("Answer the proposal"),
    ),
    NoticeKind.PROPOSAL_ENDING: Wording(
        N_("Reminder: a proposal is waiting for your answer"),
        N_(
            "The proposal on %(topic)s in %(program)s ends on %(respond_by)s. If you have "
            "not answered yet, please do so before then."
        ),
        N_("Answer the proposal"),
    ),
    NoticeKind.PROPOSAL_CLOSED: Wording(
        N_("A proposal has ended"),
        N_(
            "A proposal in %(program)s ended without a relationship (%(reason)s). You are "
            "back among those waiting for a partner; nothing else is needed from you."
        ),
        N_("Open the portal"),
    ),
    NoticeKind.PAIRING_CONFIRMED: Wording(
        N_("You are paired: meet your mentoring partner"),
        N_(
            "You and your partner have both accepted the pairing on %(topic)s in "
            "%(program)s. Their contact card is now in the portal."
        ),
        N_("See your partner's contact card"),
    ),
    NoticeKind.RELATIONSHIP_STARTED: Wording(
        N_("Your mentoring relationship has started"),
        N_(
            "Your relationship on %(topic)s in %(program)s is open until %(planned_end)s. "
            "Begin by agreeing your learning goals and how often you meet."
        ),
        N_("Propose a learning agreement"),
    ),
    NoticeKind.AGREEMENT_PENDING: Wording(
        N_("Reminder: your learning agreement is not confirmed yet"),
        N_(
            "Your relationship on %(topic)s in %(program)s has no confirmed learning "
            "agreement yet. Agreeing goals first makes the sessions count."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.AGREEMENT_CONFIRMED: Wording(
        N_("Your learning agreement is confirmed"),
        N_(
            "Both of you confirmed the learning agreement on %(topic)s (version "
            "%(revision)s): you plan to meet every %(cadence_weeks)s weeks."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.SESSION_SCHEDULED: Wording(
        N_("Mentoring session on %(when)s"),
        N_(
            "A %(format)s session on %(topic)s is agreed for %(when)s (%(zone)s). The "
            "invitation is attached for your calendar."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.SESSION_MOVED: Wording(
        N_("Mentoring session moved to %(when)s"),
        N_(
            "Your %(format)s session on %(topic)s now takes place on %(when)s (%(zone)s). "
            "The attached update replaces it in your calendar."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.SESSION_CANCELLED: Wording(
        N_("Mentoring session cancelled: %(when)s"),
        N_(
            "The session on %(topic)s planned for %(when)s (%(zone)s) will not take place. "
            "The attached cancellation removes it from your calendar."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.SESSION_TOMORROW: Wording(
        N_("Reminder: mentoring session on %(when)s"),
        N_("Your %(format)s session on %(topic)s takes place on %(when)s (%(zone)s)."),
        N_("Open the relationship"),
    ),
    NoticeKind.FEEDBACK_DUE: Wording(
        N_("Your feedback is asked for"),
        N_(
            "A short feedback form about your relationship in %(program)s is open until "
            "%(closes_at)s. Your answers are reported only in groups large enough to keep "
            "them anonymous."
        ),
        N_("Give feedback"),
    ),
    NoticeKind.FOLLOW_UP_OPEN: Wording(
        N_("%(months)s months on: what has lasted from your mentoring?"),
        N_(
            "Your mentoring relationship in %(program)s ended %(months)s months ago. A short "
            "form, open until %(closes_at)s, asks what you still do differently at work and "
            "what came of it. Your answers are reported only in groups large enough to keep "
            "them anonymous."
        ),
        N_("Give feedback"),
    ),
    NoticeKind.FEEDBACK_CLOSING: Wording(
        N_("Reminder: feedback closes on %(closes_at)s"),
        N_(
            "The feedback form in %(program)s closes on %(closes_at)s. If you have not "
            "answered yet, it takes a few minutes."
        ),
        N_("Give feedback"),
    ),
    NoticeKind.RELATIONSHIP_ENDED: Wording(
        N_("Your mentoring relationship has ended"),
        N_(
            "Your relationship on %(topic)s in %(program)s has %(how)s after %(held)s "
            "sessions. Thank you for taking part."
        ),
        N_("Open the portal"),
    ),
    NoticeKind.RELATIONSHIP_PAUSED: Wording(
        N_("Your mentoring relationship is paused for now"),
        N_(
            "The program has paused your relationship on %(topic)s in %(program)s for now: "
            "planned sessions are cancelled and nothing new can be planned until it "
            "resumes. Either of you may still end it, without fault."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.RELATIONSHIP_RESUMED: Wording(
        N_("Your mentoring relationship can go on"),
        N_(
            "Your relationship on %(topic)s in %(program)s is no longer paused by this: "
            "you can plan your sessions again, unless another pause still holds."
        ),
        N_("Open the relationship"),
    ),
    NoticeKind.RELATIONSHIP_STALLED: Wording(
        N_("A relationship in %(program)s has stalled"),
        N_(
            "No session has been held in one relationship of %(program)s since "
            "%(stalled_since)s. The program page lists it for follow-up."
        ),
        N_("Open the program"),
    ),
    NoticeKind.PROPOSALS_UNANSWERED: Wording(
        N_("Proposals in %(program)s end on %(respond_by)s"),
        N_(
            "%(open)s proposals of a round in %(program)s are still unanswered and end on "
            "%(respond_by)s."
        ),
        N_("Open the round"),
    ),
    NoticeKind.CONCERN_REPORTED: Wording(
        N_("A confidential concern was raised in %(program)s"),
        N_(
            "A participant raised a confidential concern in %(program)s on "
            "%(reported_at)s. You are this institution's designated contact: please "
            "follow it up in the portal."
        ),
        N_("Open the concerns"),
    ),
    NoticeKind.CONCERN_OVERDUE: Wording(
        N_("A confidential concern in %(program)s is unanswered"),
        N_(
            "A confidential concern raised in %(program)s by one of this institution's "
            "people was not acknowledged by %(respond_by)s. You are told because no one "
            "answered in time: please see that it is followed up."
        ),
        N_("Open the concerns"),
    ),
}

ROLES = {"mentor": N_("junior mentor"), "mentee": N_("senior mentee")}
REASONS = {
    "declined": N_("one of you declined"),
    "withdrawn": N_("one of you left the program"),
    "expired": N_("the answer date passed"),
}
HOW = {"completed": N_("come to its planned end"), "ended": N_("been ended early")}
FORMATS = {"in-person": N_("in-person"), "virtual": N_("virtual")}
GREETING = N_("Hello %(name)s,")
GREETING_ROLE = N_("Hello,")
FOOTER = N_(
    "You receive this because you take part in a mentoring program of %(institution)s. "
    "Choose which notices also come by e-mail, and how often, in the portal's settings."
)
FOOTER_REQUIRED = N_("This notice is sent whatever your e-mail settings: the program requires it.")
DIGEST_SUBJECT = N_("Your week in mentoring")
DIGEST_INTRO = N_("Here is what happened in your mentoring programs this week:")
