"""What a certificate may say of the ratings a person received: the program's aggregate,
hidden below its threshold and released anew only when k people's answers changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from telemachus.feedback.domain.instruments import BY_KEY, Role, WindowKind
from telemachus.feedback.domain.model import Program, Relationship, Response
from telemachus.feedback.reporting.recognition import ratings_of
from telemachus.feedback.reporting.releases import Release, release_metrics
from telemachus.shared.contracts.vocabulary import PairingMode

NOW = datetime(2026, 11, 30, tzinfo=UTC)
MENTOR = "uni:p-junior"
PROGRAM = Program(id="hosp:prog", title="Apps", partner_institutions=["uni"])


def relationship(i: int) -> Relationship:
    return Relationship(
        id=f"rel-{i}",
        program_id=PROGRAM.id,
        mode=PairingMode.ASSIGNED,
        mentor_ref=MENTOR,
        mentee_ref=f"hosp:p-senior{i}",
        topic="apps",
        starts_on=date(2026, 6, 1),
    )


def rating(r: Relationship, value: int) -> Response:
    key = "mentor-attributes.v1"
    return Response(
        id=f"{r.id}|{key}",
        window_id=f"window_{r.id}_final",
        relationship_id=r.id,
        program_id=PROGRAM.id,
        kind=WindowKind.FINAL,
        respondent_ref=r.mentee_ref,
        role=Role.MENTEE,
        instrument=key,
        answers=dict.fromkeys(BY_KEY[key].item_ids(), value),
        submitted_at=NOW,
    )


def test_fewer_ratings_than_the_threshold_show_nothing_and_one_more_changes_nothing() -> None:
    rs = [relationship(i) for i in range(7)]
    # The mentor's own answers about the seniors are not what was said of them.
    own = rating(rs[0], 1).model_copy(update={"respondent_ref": MENTOR, "id": "own"})
    [few] = ratings_of(MENTOR, PROGRAM, rs, [rating(r, 4) for r in rs[:4]] + [own])
    assert few.total.suppressed and few.total.value is None and few.items == []
    assert MENTOR not in few.id and "senior" not in few.model_dump_json()

    [five] = ratings_of(MENTOR, PROGRAM, rs, [rating(r, 4) for r in rs[:5]])
    shown, stored = release_metrics(PROGRAM.id, [five], {}, 5, NOW)
    assert shown[0].total.value == 4.0 and shown[0].total.n == 5
    previous = {five.id: stored[0]}

    # A sixth rating, of 1: shown as it was, so the two certificates tell nothing of it.
    [six] = ratings_of(MENTOR, PROGRAM, rs, [rating(r, 4) for r in rs[:5]] + [rating(rs[5], 1)])
    held, none = release_metrics(PROGRAM.id, [six], previous, 5, NOW + timedelta(days=1))
    assert held[0].total.value == 4.0 and held[0].held_since == NOW and none == []
    assert isinstance(stored[0], Release)
