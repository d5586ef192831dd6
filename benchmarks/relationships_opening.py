"""Relationships opening benchmark: the second answer to a proposed pairing confirms it
(pairing's API), and the institution's sessions service opens the relationship from the
`PairingConfirmed` event pairing publishes.

One institution's services on fresh local servers. Seeding (not measured): N people
imported by CSV and enrolled, an assigned round computed and published, each mentee's
acceptance given. Then `clients` concurrent clients give the mentors' acceptances, one
request at a time, as a cohort does after the round is announced.

Printed, from the store's own timestamps (one machine, one clock):
  confirmations/s  the HTTP answers that confirmed a pairing, per second over the burst
  opened/s         relationships opened per second, first confirmation to last opening
  commit->handled  per event, pairing's outbox row (the confirmation's transaction) to the
                   sessions inbox entry (the relationship's): p50, p99, and p50 of the
                   first and last tenth (a queue that grows shows as a last tenth far above
                   the first)
  bare             a plain aiokafka consume-and-insert loop over as many events, same run

usage: python benchmarks/relationships_opening.py [--people N] [--clients C]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from enrolment_flow import (  # siblings: run as a script
    Flow,
    bare_rate,
    latencies,
    print_flow,
)
from one_institution import one_institution
from portal_pages import enrol_everyone, participants, roster_and_program, until

from telemachus.cli.federation import Federation
from telemachus.pairing.service_layer.unit_of_work import CANDIDATES
from telemachus.sessions.service_layer.unit_of_work import RELATIONSHIPS
from telemachus.shared.contracts.pairing import PairingConfirmedV1
from telemachus.shared.security.tokens import Role


async def seed(f: Federation, inst: str, people: int) -> tuple[str, list[tuple[str, str, str]]]:
    """(program id, per published pairing: its id, the mentor's subject and ref), each
    mentee's acceptance already given."""
    token = f.token(inst, "bench-coordinator", Role.COORDINATOR)
    auth = {"Authorization": f"Bearer {token}"}
    identity, pairing = f.url(inst, "identity"), f.url(inst, "pairing")
    async with httpx.AsyncClient(timeout=600) as http:
        program = await roster_and_program(http, identity, auth, people, "Opening benchmark")
        listed = await participants(http, identity, auth)
        await enrol_everyone(f, inst, program["id"], listed)
        pool = f.runtime(inst, "pairing").db[CANDIDATES]
        await until(
            f"{people} people in the pool",
            lambda: _counted(pool, {"program_id": program["id"]}, people),
        )
        opened = await http.post(
            f"{pairing}/programs/{program['id']}/rounds", headers=auth, json={}
        )
        opened.raise_for_status()
        round_id = opened.json()["id"]
        (await http.post(f"{pairing}/rounds/{round_id}/compute", headers=auth)).raise_for_status()
        published = await http.post(f"{pairing}/rounds/{round_id}/publish", headers=auth)
        published.raise_for_status()
        pairings = published.json()["pairings"]
        subjects = {p["ref"]: p["subject"] for p in listed}
        await answer_all(
            f, inst, [(p["id"], subjects[p["mentee_ref"]], p["mentee_ref"]) for p in pairings], 16
        )
    return str(program["id"]), [
        (p["id"], subjects[p["mentor_ref"]], p["mentor_ref"]) for p in pairings
    ]


async def _counted(collection: Any, query: dict[str, Any], at_least: int) -> bool:
    return int(await collection.count_documents(query)) >= at_least


async def answer_all(
    f: Federation, inst: str, answers: list[tuple[str, str, str]], clients: int
) -> float:
    """Each (pairing, subject, ref) accepts; seconds from the first request to the last
    answer."""
    pairing = f.url(inst, "pairing")
    queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
    for answer in answers:
        queue.put_nowait(answer)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            while not queue.empty():
                pairing_id, subject, ref = queue.get_nowait()
                token = f.token(inst, subject, Role.PARTICIPANT, ref=ref)
                answered = await http.post(
                    f"{pairing}/pairings/{pairing_id}/responses",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"decision": "accept"},
                )
                if answered.status_code != 200:
                    raise RuntimeError(f"answer refused: {answered.status_code} {answered.text}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


async def opening(people: int, clients: int) -> tuple[Flow, float, int]:
    async with one_institution() as (f, inst, backend):
        program_id, confirming = await seed(f, inst, people)
        print(f"  seeded {people} people, {len(confirming)} pairings with the mentee's yes")
        took = await answer_all(f, inst, confirming, clients)
        relationships = f.runtime(inst, "sessions").db[RELATIONSHIPS]
        await until(
            f"{len(confirming)} relationships open",
            lambda: _counted(relationships, {"program_id": program_id}, len(confirming)),
        )
        ms, first, last = await latencies(
            f.runtime(inst, "pairing"), f.runtime(inst, "sessions"), PairingConfirmedV1.event_type
        )
        result = Flow.of(len(confirming), took, ms, first, last)
        bare = await bare_rate(backend, len(confirming))
    print_flow(
        result,
        bare,
        benchmark="relationships opening",
        burst=f"{len(confirming)} confirmations from {clients} concurrent clients",
        answered="confirmations answered",
        handled="relationships opened",
    )
    return result, bare, len(confirming)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=4_000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(opening(args.people, args.clients))
