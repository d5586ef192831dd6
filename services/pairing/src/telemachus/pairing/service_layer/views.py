"""Read side of pairing."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.pairing.domain.model import Candidate, Pairing, Program, Round
from telemachus.pairing.service_layer.unit_of_work import CANDIDATES, PAIRINGS, PROGRAMS, ROUNDS
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class PairingViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def program(self, program_id: str) -> Program | None:
        return await read_one(self._db, PROGRAMS, Program, program_id)

    async def pool(self, program_id: str) -> list[Candidate]:
        return await read_many(self._db, CANDIDATES, Candidate, {"program_id": program_id})

    async def candidate(self, program_id: str, ref: str) -> Candidate | None:
        return await read_one(self._db, CANDIDATES, Candidate, Candidate.key(program_id, ref))

    async def round(self, round_id: str) -> Round | None:
        return await read_one(self._db, ROUNDS, Round, round_id)

    async def rounds(self, program_id: str) -> list[Round]:
        return await read_many(self._db, ROUNDS, Round, {"program_id": program_id})

    async def pairing(self, pairing_id: str) -> Pairing | None:
        return await read_one(self._db, PAIRINGS, Pairing, pairing_id)

    async def pairings(self, program_id: str) -> list[Pairing]:
        return await read_many(self._db, PAIRINGS, Pairing, {"program_id": program_id})

    async def pairings_of_round(self, round_id: str) -> list[Pairing]:
        return await read_many(self._db, PAIRINGS, Pairing, {"round_id": round_id})

    async def pairings_of(self, ref: str) -> list[Pairing]:
        return await read_many(
            self._db, PAIRINGS, Pairing, {"$or": [{"mentor_ref": ref}, {"mentee_ref": ref}]}
        )
