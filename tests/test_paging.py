"""Issue 15, fault 6: `GET /programs/{id}/pool` showed 1,000 of 1,200 candidates and said
nothing; every list view was cut the same way. Now every list is a page with the total and
a link to the next page. On the real broker and store, through the lead's pairing API."""

from __future__ import annotations

import re
import secrets

import httpx

from telemachus.cli.federation import Federation
from telemachus.pairing.domain.model import Candidate, Need
from telemachus.pairing.service_layer.unit_of_work import CANDIDATES
from telemachus.shared.runtime.documents import to_document
from telemachus.shared.testing.kafka import eventually
from tests.helpers.lead_api import LeadApi
from tests.helpers.sites import Site, known_at, publish_program

NEXT = re.compile(r'<([^>]+)>; rel="next"')


async def test_a_pool_of_1200_is_listed_whole_page_by_page_with_its_total(
    federation: Federation,
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        hospital = await Site.open(federation, 0, client)
        university = await Site.open(federation, 1, client)
        program = await publish_program(hospital, [university.id])
        await known_at(university, program["id"])
        pairing = LeadApi(federation, hospital, client, "pairing")
        lead = await pairing.coordinator(hospital.id)

        async def pairing_knows_it() -> bool:
            known = await pairing.call("GET", f"/programs/{program['id']}/pool", lead)
            return known.status_code == 200

        await eventually(pairing_knows_it)
        # 1,200 enrolled people: written as the enrolment handler writes them (1,200
        # signed events through the consumer would test the consumer, not the list).
        homes = [hospital.id, university.id]
        people = [
            Candidate(
                id=Candidate.key(program["id"], ref),
                program_id=program["id"],
                participant_ref=ref,
                home_institution=ref.split(":")[0],
                topics_sought=[Need(topic="e-medicine", priority=3)],
            )
            for ref in (f"{homes[i % 2]}:{secrets.token_urlsafe(9)}" for i in range(1200))
        ]
        runtime = federation.runtime(hospital.id, "pairing")
        await runtime.db[CANDIDATES].insert_many([to_document(c) for c in people])

        seen: list[str] = []
        url: str | None = f"{pairing.url}/programs/{program['id']}/pool?limit=500"
        sizes = []
        while url is not None:
            response = await client.get(url, headers=lead)
            assert response.status_code == 200, response.text
            assert response.headers["X-Total-Count"] == "1200"
            sizes.append(len(response.json()))
            seen.extend(c["participant_ref"] for c in response.json())
            following = NEXT.search(response.headers.get("Link", ""))
            url = following.group(1) if following else None
        assert sizes == [500, 500, 200]
        assert sorted(seen) == sorted(c.participant_ref for c in people)  # all, once each

        # A partner's coordinator pages through their own people only, with their total.
        partner = await pairing.coordinator(university.id)
        own = await pairing.call("GET", f"/programs/{program['id']}/pool", partner)
        assert own.headers["X-Total-Count"] == "600" and len(own.json()) == 200
        assert NEXT.search(own.headers["Link"])
