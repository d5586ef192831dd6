"""Read side of identity."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.domain.model import Participant, Program
from telemachus.identity.service_layer.unit_of_work import PARTICIPANTS, PROGRAMS
from telemachus.shared.runtime.store import Document
from telemachus.shared.runtime.views import read_many, read_one


class IdentityViews:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def program(self, program_id: str) -> Program | None:
        return await read_one(self._db, PROGRAMS, Program, program_id)

    async def programs(self) -> list[Program]:
        return await read_many(self._db, PROGRAMS, Program, {})

    async def participant(self, participant_id: str) -> Participant | None:
        return await read_one(self._db, PARTICIPANTS, Participant, participant_id)
