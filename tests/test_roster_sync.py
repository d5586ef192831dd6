"""Issue 16: the roster re-synced from an HR export, as a job. Known people are updated in
the file's columns only (found by e-mail, else employee number), unknown ones created, a
dry run only reports, a refused row stops everything unless the valid rows are wanted,
people missing from a full roster are flagged, and the same file twice changes nothing."""

from __future__ import annotations

import secrets
from typing import Any

from telemachus.shared.testing.kafka import eventually
from tests.helpers.sites import Site

HEADER = "display_name,work_email,employee_number,profession,career_stage,department\n"


async def finished(site: Site, answer: Any) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    location = answer.headers["location"]
    assert location == f"/participants/import-jobs/{answer.json()['id']}"

    async def done() -> dict[str, Any]:
        job = (await site.call("GET", location)).json()
        return dict(job) if job["status"] != "running" else {}

    return await eventually(done, within=60)


async def sync(site: Site, text: str, **options: str) -> dict[str, Any]:
    answer = await site.call(
        "POST",
        "/participants/import-jobs",
        {**site.coordinator, "Content-Type": "text/csv"},
        params=options,
        content=text.encode(),
    )
    return await finished(site, answer)


async def test_an_hr_export_re_syncs_the_roster_as_a_job(sites: tuple[Site, Site, Site]) -> None:
    _, university, _ = sites
    tag = secrets.token_hex(3)
    known = [
        await university.register(employee_number=f"E{tag}{i}", career_stage=2) for i in range(3)
    ]
    outsider = await university.register()  # on the roster, not in the export
    a, b, c = known
    export = HEADER + "".join(
        [
            f"{a['display_name']},{a['work_email']},E{tag}0,nursing,senior,Emergency\n",
            # b is found by employee number: HR changed their e-mail.
            f"{b['display_name']},new-{tag}@{university.id}.example,E{tag}1,nursing,2,Emergency\n",
            f"{c['display_name']},{c['work_email']},E{tag}2,nursing,2,Emergency\n",
            f"New Person,n-{tag}@{university.id}.example,E{tag}9,pharmacy,1,\n",
            f"Bad Row,bad-{tag}@{university.id}.example,,nursing,wizard,\n",
        ]
    )

    planned = await sync(university, export, dry_run="true", flag_missing="true")
    assert planned["status"] == "done" and planned["rows_applied"] == 0
    report = planned["report"]
    assert {k: report[k] for k in ("created", "updated", "unchanged", "refused")} == {
        "created": 1,
        "updated": 2,
        "unchanged": 1,
        "refused": 1,
    }
    [bad] = report["refused_rows"]  # only the refused rows are listed
    assert (bad["line"], bad["field"]) == (6, "career_stage") and "wizard" in bad["reason"]
    assert outsider["id"] in report["missing"]
    person_a = (await university.call("GET", f"/participants/{a['id']}")).json()
    assert person_a["career_stage"] == 2  # a dry run changes nothing

    refused = await sync(university, export)
    assert refused["status"] == "refused" and "nothing was imported" in refused["error"]
    assert (await university.call("GET", f"/participants/{a['id']}")).json()["career_stage"] == 2

    applied = await sync(university, export, accept_valid="true", flag_missing="true")
    assert applied["status"] == "done" and applied["rows_applied"] == 3
    person_a = (await university.call("GET", f"/participants/{a['id']}")).json()
    assert person_a["career_stage"] == 4
    # Columns the export lacks stay as the person left them.
    assert person_a["topics_offered"] == a["topics_offered"] and person_a["availability"]
    person_b = (await university.call("GET", f"/participants/{b['id']}")).json()
    assert person_b["work_email"] == f"new-{tag}@{university.id}.example"

    again = await sync(university, export, accept_valid="true")
    assert again["report"]["created"] == again["report"]["updated"] == 0
    assert again["report"]["unchanged"] == 4 and again["rows_applied"] == 0


async def test_a_job_is_the_coordinators_and_a_bad_file_says_why(
    sites: tuple[Site, Site, Site],
) -> None:
    _, university, _ = sites
    person = await university.register()
    answer = await university.call(
        "POST",
        "/participants/import-jobs",
        {**await university.person(person["subject"]), "Content-Type": "text/csv"},
        content=HEADER.encode(),
    )
    assert answer.status_code == 403
    headless = await sync(university, "name,email\nx,y\n")
    assert headless["status"] == "refused" and "header lacks" in headless["error"]
    missing = await university.call("GET", "/participants/import-jobs/job_nope")
    assert missing.status_code == 404
