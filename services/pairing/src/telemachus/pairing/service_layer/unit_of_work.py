"""The pairing unit of work."""

from __future__ import annotations

from telemachus.pairing.domain.model import Candidate, Pairing, Program, Round
from telemachus.shared.runtime.repository import MongoRepository
from telemachus.shared.runtime.unit_of_work import MongoUnitOfWork

PROGRAMS = "programs"
CANDIDATES = "candidates"
PAIRINGS = "pairings"
ROUNDS = "rounds"


class PairingUnitOfWork(MongoUnitOfWork):
    async def __aenter__(self) -> PairingUnitOfWork:
        await super().__aenter__()
        self.programs = MongoRepository(self, PROGRAMS, Program)
        self.candidates = MongoRepository(self, CANDIDATES, Candidate)
        self.pairings = MongoRepository(self, PAIRINGS, Pairing)
        self.rounds = MongoRepository(self, ROUNDS, Round)
        return self
