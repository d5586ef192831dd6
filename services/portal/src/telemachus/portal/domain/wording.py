"""Words a person reads for the platform's codes (professions, stages, fields shared,
statuses...): message ids for the catalogs, translated where they are shown."""

from __future__ import annotations

from telemachus.portal.domain.profile_form import N_

LABELS: dict[str, dict[str, str]] = {
    "profession": {
        "medicine": N_("Medicine"),
        "nursing": N_("Nursing"),
        "physiotherapy": N_("Physiotherapy"),
        "speech-pathology": N_("Speech pathology"),
        "pharmacy": N_("Pharmacy"),
        "dentistry": N_("Dentistry"),
        "education": N_("Education"),
        "research": N_("Research"),
        "other": N_("Other"),
    },
    "career_stage": {
        "1": N_("Student"),
        "2": N_("Early career (resident, junior therapist or pharmacist, early-career researcher)"),
        "3": N_("Mid career (registrar, senior therapist, lecturer)"),
        "4": N_("Senior (consultant, senior lecturer, principal investigator)"),
        "5": N_("Leader (head of department, professor)"),
    },
    "field": {
        "profession": N_("Your profession"),
        "career_stage": N_("Your career stage"),
        "department": N_("Your department (as a code, never its name)"),
        "line_manager": N_(
            "Who your line managers are (as codes, so you are never paired with them)"
        ),
        "topics_offered": N_("The topics you can teach, and how well"),
        "topics_sought": N_("The topics you want to learn, and how much"),
        "availability": N_("Your weekly free times and time zone"),
        "languages": N_("The languages you speak"),
        "max_relationships": N_("How many relationships you can take on"),
    },
    "day": {
        "mon": N_("Monday"),
        "tue": N_("Tuesday"),
        "wed": N_("Wednesday"),
        "thu": N_("Thursday"),
        "fri": N_("Friday"),
        "sat": N_("Saturday"),
        "sun": N_("Sunday"),
    },
    "level": {
        "1": N_("1 - a little"),
        "2": N_("2"),
        "3": N_("3 - fairly"),
        "4": N_("4"),
        "5": N_("5 - very"),
    },
    # Kirkpatrick's levels, as an evaluation plan names them.
    "kirkpatrick": {
        "reaction": N_("Reaction: how useful the sessions were"),
        "learning": N_("Learning: what each person now knows"),
        "behaviour": N_("Behaviour: what each still does differently at work"),
        "results": N_("Results: what came of it for team, patients or service"),
    },
    "mode": {
        "assigned": N_("Assigned by coordinators (optimal matching)"),
        "ranked": N_("Chosen by participants (they rank candidates)"),
        "mixed": N_("Mixed"),
    },
    "status": {
        "proposed": N_("Proposed"),
        "confirmed": N_("Confirmed"),
        "declined": N_("Declined"),
        "expired": N_("Expired"),
        "withdrawn": N_("Withdrawn"),
        "ended": N_("Ended"),
        "active": N_("Active"),
        "completed": N_("Completed"),
        "scheduled": N_("Scheduled"),
        "cancelled": N_("Cancelled"),
        "held": N_("Held"),
        "missed": N_("Missed"),
        "draft": N_("Draft"),
        "review": N_("Ready for review"),
        "published": N_("Published"),
        "open": N_("Open"),
        "acknowledged": N_("Acknowledged"),
        "in-progress": N_("In progress"),
        "resolved": N_("Resolved"),
        "pending": N_("Pending"),
        "accepted": N_("Accepted"),
        "running": N_("Running"),
        "done": N_("Done"),
        "failed": N_("Failed"),
        "interrupted": N_("Interrupted"),
    },
    "role": {
        "mentor": N_("You mentor: you share your expertise"),
        "mentee": N_("You are mentored: you learn, and mentor back on your own expertise"),
    },
    "concern": {
        "power-imbalance": N_("Power imbalance"),
        "lack-of-confidence": N_("Lack of confidence"),
        "boundary": N_("A boundary was crossed"),
        "time-burden": N_("It takes too much time"),
        "other": N_("Something else"),
    },
    "blocker": {
        "agreement": N_("No learning agreement agreed by both yet"),
        "ground-rules": N_("The ground rules changed: to be agreed again"),
        "preparation": N_("Preparation still to complete"),
    },
    "module-role": {
        "mentor": N_("For junior mentors"),
        "mentee": N_("For senior mentees"),
        "both": N_("For both"),
    },
    "outcome": {
        "supported": N_("The person was supported; the relationship goes on"),
        "relationship-ended": N_("The relationship ended, without fault"),
        "referred": N_("Referred to a formal process"),
        "no-further-action": N_("No further action"),
    },
    "exit": {
        "schedule": N_("Our schedules do not fit"),
        "topic-mismatch": N_("The topic is not what I need"),
        "discomfort": N_("I am not comfortable"),
        "other": N_("Another reason"),
    },
    "format": {"in-person": N_("In person"), "virtual": N_("Online")},
    "decision": {"accept": N_("Accepted"), "decline": N_("Declined")},
    "email": {
        "pairing": N_("Proposals and pairings"),
        "relationship": N_("Relationships: start, learning agreement, end"),
        "sessions": N_("Session invitations and changes"),
        "feedback": N_("Feedback forms"),
        "reminders": N_("Reminders before deadlines"),
    },
}


def label(kind: str, value: object) -> str:
    """The message id for a code; an unknown code is shown as it is."""
    return LABELS.get(kind, {}).get(str(value), str(value))
