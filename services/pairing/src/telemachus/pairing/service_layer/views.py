"""Read side of pairing."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.pairing.domain.model import Candidate, Pairing, Round
from telemachus.pairing.service_layer.unit_of_work import CANDIDATES, PAIRINGS, ROUNDS
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class PairingViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def pool(self, program_id: str) -> list[Candidate]:
        return await read_many(self._db, CANDIDATES, Candidate, {"program_id": program_id})

    async def round(self, round_id: str) -> Round | None:
        return await read_one(self._db, ROUNDS, Round, round_id)

    async def pairing(self, pairing_id: str) -> Pairing | None:
        return await read_one(self._db, PAIRINGS, Pairing, pairing_id)

    async def pairings_of_round(self, round_id: str) -> list[Pairing]:
        return await read_many(self._db, PAIRINGS, Pairing, {"round_id": round_id})
