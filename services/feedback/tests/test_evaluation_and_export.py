"""The evaluation's numbers, the HTML page and the research export on facts built by hand."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from telemachus.feedback.domain.concerns import Concern, ConcernCategory
from telemachus.feedback.domain.instruments import BY_KEY, Role, WindowKind, due
from telemachus.feedback.domain.model import (
    FeedbackSettings,
    FeedbackWindow,
    Pairing,
    PairingOutcome,
    Participant,
    Program,
    Relationship,
    RelationshipStatus,
    Response,
)
from telemachus.feedback.reporting import export, html
from telemachus.feedback.reporting.anonymity import QUASI_IDENTIFIERS, k_anonymous
from telemachus.feedback.reporting.evaluation import Evaluation, EvaluationReport, ProgramFacts
from telemachus.shared.contracts.vocabulary import PairingMode
from telemachus.shared.errors import Conflict, Forbidden, Rejected

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
START = date(2026, 9, 1)


def relationship(i: int, mode: str, mentor: str, mentee: str, **kw: object) -> Relationship:
    m_inst, m_prof = mentor.split("/")
    e_inst, e_prof = mentee.split("/")
    return Relationship(
        id=f"rel-{i}",
        program_id="hosp:prog01",
        mode=PairingMode(mode),
        mentor_ref=f"{m_inst}:mentor{i:03}",
        mentee_ref=f"{e_inst}:mentee{i:03}",
        mentor_profession=m_prof,
        mentee_profession=e_prof,
        topic="apps",
        starts_on=START,
        **kw,
    )


def answer(r: Relationship, role: Role, kind: WindowKind, key: str, value: int) -> Response:
    instrument = BY_KEY[key]
    return Response(
        id=f"{r.id}|{role}|{kind}|{key}",
        window_id=FeedbackWindow.id_for(r.id, kind),
        relationship_id=r.id,
        program_id=r.program_id,
        kind=kind,
        respondent_ref=r.respondents[role],
        role=role,
        instrument=key,
        answers=dict.fromkeys(instrument.item_ids(), value),
        comment=f"comment by {r.respondents[role]}",
        submitted_at=NOW,
    )


@pytest.fixture
def facts() -> ProgramFacts:
    """8 relationships, threshold 3: assigned 4, ranked 3, mixed 1."""
    completed, ended = RelationshipStatus.COMPLETED, RelationshipStatus.ENDED
    rs = [
        relationship(
            1, "assigned", "uni/nursing", "hosp/medicine", sessions_held=3, status=completed
        ),
        relationship(
            2, "assigned", "uni/nursing", "hosp/medicine", sessions_held=3, status=completed
        ),
        relationship(
            3, "assigned", "uni/nursing", "hosp/medicine", sessions_held=3, status=completed
        ),
        relationship(4, "assigned", "uni/nursing", "hosp/medicine", sessions_held=1, status=ended),
        relationship(
            5, "ranked", "hosp/pharmacy", "hosp/medicine", sessions_held=3, status=completed
        ),
        relationship(6, "ranked", "hosp/pharmacy", "hosp/medicine", sessions_held=0, status=ended),
        relationship(
            7, "ranked", "hosp/physiotherapy", "hosp/medicine", sessions_held=3, status=completed
        ),
        relationship(8, "mixed", "uni/nursing", "hosp/medicine", sessions_held=3, status=completed),
    ]
    responses = []
    for i, r in enumerate(rs):
        base, final = WindowKind.BASELINE, WindowKind.FINAL
        responses.append(answer(r, Role.MENTEE, base, "mentee-outcomes.v1", 2))
        responses.append(answer(r, Role.MENTEE, final, "mentee-outcomes.v1", 3 + i % 2))
        responses.append(answer(r, Role.MENTEE, final, "mentor-attributes.v1", 4 + i % 2))
    participants = [
        Participant(
            id=f"p{i}",
            program_id="hosp:prog01",
            ref=ref,
            institution=ref.split(":")[0],
            enrolled_at=NOW,
        )
        for i, ref in enumerate(x for r in rs for x in (r.mentor_ref, r.mentee_ref))
    ]
    pairings = [
        Pairing(
            id=f"pair-{r.id}",
            program_id="hosp:prog01",
            mode=r.mode,
            mentor_ref=r.mentor_ref,
            mentee_ref=r.mentee_ref,
            outcome=PairingOutcome.CONFIRMED,
        )
        for r in rs
    ]
    concern = Concern.report(rs[0], rs[0].mentor_ref, ConcernCategory.POWER_IMBALANCE, "x", NOW)
    return ProgramFacts(
        program=Program(
            id="hosp:prog01", title="Apps", partner_institutions=["uni"], reporting_threshold=3
        ),
        participants=participants,
        pairings=pairings,
        relationships=rs,
        responses=responses,
        concerns=[concern],
    )


def by_id(report: EvaluationReport, metric_id: str) -> dict[str, Any]:
    data = json.loads(report.model_dump_json())
    return next(m for s in data["sections"] for m in s["metrics"] if m["id"] == metric_id)


def split(metric: dict[str, Any], name: str) -> dict[str, Any]:
    return {c["group"]: c for c in metric["splits"][name]}


def test_completion_and_sessions_by_hand(facts: ProgramFacts) -> None:
    report = Evaluation(facts).report(NOW)
    completed = by_id(report, "completed")
    assert completed["total"]["n"] == 8 and completed["total"]["value"] == 6 / 8
    modes = split(completed, "mode")
    # mixed (1) is below 3; ranked (3), the smallest shown, goes with it so that
    # total minus assigned reveals only the 4 relationships of both together.
    assert modes["mixed"]["suppressed"] and modes["ranked"]["suppressed"]
    assert modes["assigned"]["n"] == 4 and modes["assigned"]["value"] == 3 / 4
    professions = split(completed, "professions")
    # pharmacy (2) and physiotherapy (1) together hold 3: enough, nothing more hidden.
    assert professions["pharmacy → medicine"]["suppressed"]
    assert professions["physiotherapy → medicine"]["suppressed"]
    assert professions["nursing → medicine"]["n"] == 5
    assert professions["nursing → medicine"]["value"] == 4 / 5
    institutions = split(completed, "institutions")
    assert institutions["uni → hosp"]["n"] == 5 and institutions["hosp → hosp"]["n"] == 3
    sessions = by_id(report, "sessions-held")
    assert sessions["total"]["value"] == (3 + 3 + 3 + 1 + 3 + 0 + 3 + 3) / 8
    assert split(sessions, "institutions")["hosp → hosp"]["value"] == 2.0


def test_pre_post_change_with_its_interval(facts: ProgramFacts) -> None:
    change = by_id(Evaluation(facts).report(NOW), "mentee-outcomes.v1.change")
    # baseline 2 for all; final 3, 4, 3, 4, ...: changes 1, 2, 1, 2, 1, 2, 1, 2
    half = 2.364624252 * (2 / 7) ** 0.5 / 8**0.5
    assert change["total"]["n"] == 8 and change["total"]["value"] == 1.5
    assert change["total"]["low"] == pytest.approx(1.5 - half, abs=1e-6)
    # assigned: relationships 1-4, i = 0..3: changes 1, 2, 1, 2
    assert split(change, "mode")["assigned"]["value"] == 1.5
    # no mentor answered outcomes twice: nothing to show, nothing invented
    assert by_id(Evaluation(facts).report(NOW), "mentor-outcomes.v1.change")["total"]["n"] == 0


def test_small_totals_are_hidden_whole(facts: ProgramFacts) -> None:
    report = Evaluation(facts).report(NOW)
    concerns = by_id(report, "concerns")
    assert concerns["total"]["suppressed"] and concerns["splits"]["category"] == []
    # Issue 14, attack 6: the hidden count came back as rate x n (1/8 of 8). One concern
    # is a group of one, whichever figure would show it.
    rate = by_id(report, "concern-rate")
    assert rate["total"]["suppressed"] and rate["total"]["value"] is None
    assert all(cells == [] for cells in rate["splits"].values())
    assert by_id(report, "mentor-attributes.v1")["items"][0]["value"] == pytest.approx(4.5)


def test_the_page_is_self_contained_and_shows_no_hidden_value(facts: ProgramFacts) -> None:
    page = html.render(Evaluation(facts).report(NOW))
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 10
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<script" not in page
    assert "suppressed (small group)" in page
    assert "hosp:mentee" not in page and "uni:mentor" not in page


def read_zip(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {name: z.read(name) for name in z.namelist()}


def read_answers(fmt: export.ExportFormat, data: bytes, tmp: Path) -> pd.DataFrame:
    """As a researcher's tool reads each format; missing codes become empty cells in the
    two that declare them (SPSS user-missing, Stata's .a/.b/.c)."""
    if fmt is export.ExportFormat.CSV:
        return pd.read_csv(io.BytesIO(data))
    if fmt is export.ExportFormat.PARQUET:
        return pq.read_table(io.BytesIO(data)).to_pandas()
    if fmt is export.ExportFormat.DTA:  # pandas' own Stata reader, not the writer's library
        return pd.read_stata(io.BytesIO(data), convert_categoricals=False)
    path = tmp / "answers.sav"
    path.write_bytes(data)
    frame, _ = pyreadstat.read_sav(path)
    return frame


@pytest.mark.parametrize("fmt", list(export.ExportFormat))
def test_the_export_reloads_matches_its_codebook_and_names_nobody(
    facts: ProgramFacts, fmt: export.ExportFormat, tmp_path: Path
) -> None:
    name, blob = export.archive(facts, fmt, NOW)
    files = read_zip(blob)
    codebook = json.loads(files["codebook.json"])
    frame = read_answers(fmt, files[f"answers.{fmt.value}"], tmp_path)
    assert list(frame.columns) == [c["name"] for c in codebook["columns"]]
    control = codebook["disclosure_control"]
    # the one mixed relationship is in a class of its own, whatever is generalised: withheld
    assert control["k"] == 3 and control["relationships_withheld"] == 1
    assert len(frame) == codebook["rows"] == 24 - control["rows_withheld"] and name.endswith(".zip")
    assert "comment" not in frame.columns  # the program did not opt in
    for column in codebook["columns"]:
        allowed = {*column.get("values", {}), *column.get("missing", {})}
        if allowed:
            present = {str(int(v)) for v in frame[column["name"]].dropna()}
            assert present <= allowed, column["name"]
    text = frame.to_csv()
    refs = {ref for r in facts.relationships for ref in r.respondents.values()}
    assert not any(ref in text or ref.split(":")[1] in text for ref in refs)
    assert "rel-" not in text and "@" not in text
    # one person keeps one pseudonym within the export: baseline and final pair up
    per_person = frame.groupby("person")["window"].nunique()
    assert (per_person == 2).all() and len(per_person) == 8 - 1


def test_the_export_is_ready_for_statistics_packages(facts: ProgramFacts, tmp_path: Path) -> None:
    """Issue 20: names Stata, SPSS and R take; integer codes with labels; missing values
    coded and declared; booleans 0/1; the same figures whichever package reads it."""
    files = read_zip(export.archive(facts, export.ExportFormat.CSV, NOW)[1])
    codebook = json.loads(files["codebook.json"])
    names = [c["name"] for c in codebook["columns"]]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,31}", n) for n in names), names
    assert codebook["missing_values"] == {
        "-9": "not asked: an item of another instrument than this row's",
        "-8": "withheld by disclosure control (see disclosure_control)",
        "-7": "not applicable to this row",
    }
    by_name = {c["name"]: c for c in codebook["columns"]}
    listens = by_name["mentor_a_listens"]
    assert listens["source"] == "mentor-attributes.listens" and listens["type"] == "integer"
    assert listens["values"]["5"] == "strongly agree" and listens["missing"] == {
        "-9": "not asked: an item of another instrument than this row's"
    }
    assert by_name["role"]["values"] == {"1": "mentor", "2": "mentee"}

    csv_frame = pd.read_csv(io.BytesIO(files["answers.csv"]))
    assert csv_frame["mentor_a_listens"].dtype == "int64"  # no float for lack of a value
    assert set(csv_frame["cross_institution"]) <= {0, 1, -8}
    assert set(csv_frame["months_after_end"]) == {-7}  # no follow-up in these facts
    rated = csv_frame[csv_frame["mentor_a_listens"] != -9]["mentor_a_listens"]

    # SPSS declares the codes missing and labels them; Stata gives .a; the mean is the same.
    sav = tmp_path / "answers.sav"
    sav.write_bytes(read_zip(export.archive(facts, export.ExportFormat.SAV, NOW)[1])["answers.sav"])
    spss, _ = pyreadstat.read_sav(sav)  # as SPSS computes: user-missing left out
    _, meta = pyreadstat.read_sav(sav, user_missing=True, metadataonly=True)
    assert meta.missing_ranges["mentor_a_listens"] == [{"lo": -9.0, "hi": -9.0}]
    assert meta.variable_value_labels["window"][3] == "final"
    assert str(meta.column_names_to_labels["cross_institution"]).startswith("mentor and mentee")
    dta = read_zip(export.archive(facts, export.ExportFormat.DTA, NOW)[1])["answers.dta"]
    stata = pd.read_stata(io.BytesIO(dta), convert_categoricals=False)
    reader = pd.io.stata.StataReader(io.BytesIO(dta))
    with reader:
        labels = reader.value_labels()
    assert any(v.get(5) == "strongly agree" for v in labels.values())
    for frame in (spss, stata):
        assert frame["mentor_a_listens"].mean() == pytest.approx(rated.mean())
        assert frame["mentor_a_listens"].count() == len(rated)


def test_pseudonyms_do_not_link_across_exports(facts: ProgramFacts) -> None:
    first = pd.read_csv(
        io.BytesIO(read_zip(export.archive(facts, export.ExportFormat.CSV, NOW)[1])["answers.csv"])
    )
    second = pd.read_csv(
        io.BytesIO(read_zip(export.archive(facts, export.ExportFormat.CSV, NOW)[1])["answers.csv"])
    )
    assert not set(first["person"]) & set(second["person"])


def test_free_text_only_when_the_program_opted_in(facts: ProgramFacts) -> None:
    program = facts.program.model_copy(update={"settings": FeedbackSettings(export_free_text=True)})
    opted = ProgramFacts(
        program,
        facts.participants,
        facts.pairings,
        facts.relationships,
        facts.responses,
        facts.concerns,
    )
    frame = pd.read_csv(
        io.BytesIO(read_zip(export.archive(opted, export.ExportFormat.CSV, NOW)[1])["answers.csv"])
    )
    assert frame["comment"].notna().all()


def test_answers_are_checked_item_by_item() -> None:
    r = relationship(1, "assigned", "uni/nursing", "hosp/medicine")
    window = FeedbackWindow.open(r, WindowKind.FINAL, now=NOW, length=timedelta(days=7))
    rating = BY_KEY["mentor-attributes.v1"]
    full = dict.fromkeys(rating.item_ids(), 4)
    assert due(WindowKind.FINAL, Role.MENTEE) == [rating, BY_KEY["mentee-outcomes.v1"]]
    with pytest.raises(Rejected) as missing:
        Response.give(window, r.mentee_ref, rating, {**full, "listens": 0} | {}, None, NOW)
    assert missing.value.field == "answers.listens"
    with pytest.raises(Rejected) as unknown:
        Response.give(window, r.mentee_ref, rating, {**full, "charm": 5}, None, NOW)
    assert unknown.value.field == "answers.charm"
    with pytest.raises(Rejected) as wrong:  # the mentor does not rate themselves
        Response.give(window, r.mentor_ref, rating, full, None, NOW)
    assert wrong.value.field == "instrument"
    with pytest.raises(Forbidden):
        Response.give(window, "uni:stranger01", rating, full, None, NOW)
    with pytest.raises(Conflict):
        Response.give(window, r.mentee_ref, rating, full, None, NOW + timedelta(days=8))
    assert Response.give(window, r.mentee_ref, rating, full, None, NOW).answers == full


def test_reminders_once_per_person_then_the_window_closes() -> None:
    r = relationship(1, "assigned", "uni/nursing", "hosp/medicine")
    window = FeedbackWindow.open(r, WindowKind.BASELINE, now=NOW, length=timedelta(days=14))
    window.pop_events()
    window.remind(NOW + timedelta(days=5), 3, answered=set())
    assert window.pop_events() == []  # not yet 3 days before the close
    window.remind(NOW + timedelta(days=11), 3, answered={r.mentor_ref})
    window.remind(NOW + timedelta(days=12), 3, answered={r.mentor_ref})
    due_events = window.pop_events()
    assert [e.respondent_ref for e in due_events] == [r.mentee_ref]  # type: ignore[attr-defined]
    late = FeedbackWindow.open(r, WindowKind.FINAL, now=NOW, length=timedelta(days=7))
    late.pop_events()
    late.remind(NOW + timedelta(days=7), 3, answered=set())
    assert late.pop_events() == []  # a sweep after the close reminds no one
    window.close_if_due(NOW + timedelta(days=14))
    assert window.closed and len(window.pop_events()) == 1


def test_every_quasi_identifier_class_holds_k_relationships_and_the_order_is_fresh(
    facts: ProgramFacts,
) -> None:
    """Issue 14, attack 8: rows unique on professions, cross-institution, status and
    sessions held were matched to named people, and rows lined up across exports."""
    k = facts.program.reporting_threshold
    data = export.dataset(facts)
    classes: dict[tuple[object, ...], set[str]] = {}
    for row in data.rows:
        key = tuple(row[c] for c in QUASI_IDENTIFIERS)
        classes.setdefault(key, set()).add(row["relationship"])
    assert classes and all(len(members) >= k for members in classes.values())

    # The order says nothing: over a few exports the rows do not keep their places.
    def order() -> list[tuple[object, ...]]:
        return [
            (r["role"], r["window"], r["instrument"], r["pairing_mode"])
            for r in export.dataset(facts).rows
        ]

    assert len({tuple(order()) for _ in range(5)}) > 1


def test_generalisation_stops_at_the_first_step_that_is_enough() -> None:
    rows = [
        {
            "relationship": f"R{i}",
            "pairing_mode": "assigned",
            "mentor_profession": "nursing" if i < 5 else "pharmacy",
            "mentee_profession": "medicine",
            "cross_institution": True,
            "relationship_status": "completed",
            "sessions_held": str(3 + i % 2),
        }
        for i in range(10)
    ]
    released = k_anonymous(rows, 5)
    # sessions 3 and 4 share the band 3-5; the professions need no change
    assert released.steps == ["sessions held in bands 0, 1-2, 3-5, 6+"]
    assert released.rows_withheld == 0
    assert {r["mentor_profession"] for r in released.rows} == {"nursing", "pharmacy"}
