"""The portal's own store: sessions, sign-ins in flight, preferences, submitted forms.
No domain data lives here; that stays in the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from telemachus.portal.domain.sessions import PendingSignIn, PortalSession
from telemachus.shared.security.tokens import Role

Document = dict[str, Any]
SESSIONS = "sessions"
SIGN_INS = "sign_ins"
PREFERENCES = "preferences"
SUBMISSIONS = "submissions"
SIGN_IN_SECONDS = 600


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PortalStore:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Document] = client[database]

    async def prepare(self) -> None:
        # MongoDB removes what has expired by itself.
        await self.db[SESSIONS].create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self.db[SESSIONS].create_index([("subject", ASCENDING)])
        await self.db[SIGN_INS].create_index(
            [("created_at", ASCENDING)], expireAfterSeconds=SIGN_IN_SECONDS
        )
        await self.db[SUBMISSIONS].create_indexes(
            [IndexModel([("created_at", ASCENDING)], expireAfterSeconds=24 * 3600)]
        )

    # Sessions -------------------------------------------------------------------------

    async def save_session(self, session: PortalSession) -> None:
        await self.db[SESSIONS].replace_one(
            {"_id": session.id},
            {
                "_id": session.id,
                "subject": session.subject,
                "name": session.name,
                "roles": sorted(r.value for r in session.roles),
                "access_token": session.access_token,
                "expires_at": session.expires_at,
                "csrf": session.csrf,
                "exchanged": {
                    k: {"token": t, "until": u} for k, (t, u) in session.exchanged.items()
                },
            },
            upsert=True,
        )

    async def session(self, session_id: str) -> PortalSession | None:
        found = await self.db[SESSIONS].find_one({"_id": session_id})
        if found is None:
            return None
        return PortalSession(
            id=found["_id"],
            subject=found["subject"],
            name=found["name"],
            roles=frozenset(Role(r) for r in found["roles"]),
            access_token=found["access_token"],
            expires_at=_utc(found["expires_at"]),
            csrf=found["csrf"],
            exchanged={
                k: (v["token"], _utc(v["until"])) for k, v in found.get("exchanged", {}).items()
            },
        )

    async def remember_exchange(
        self, session_id: str, institution: str, token: str, until: datetime
    ) -> None:
        await self.db[SESSIONS].update_one(
            {"_id": session_id},
            {"$set": {f"exchanged.{institution}": {"token": token, "until": until}}},
        )

    async def end_session(self, session_id: str) -> None:
        await self.db[SESSIONS].delete_one({"_id": session_id})

    # Sign-ins in flight ---------------------------------------------------------------

    async def begin_sign_in(self, pending: PendingSignIn) -> None:
        await self.db[SIGN_INS].insert_one(
            {
                "_id": pending.state,
                "nonce": pending.nonce,
                "verifier": pending.pkce_verifier,
                "next": pending.next_path,
                "created_at": pending.created_at,
            }
        )

    async def take_sign_in(self, state: str, now: datetime) -> PendingSignIn | None:
        """Each state is used once: a replayed callback finds nothing."""
        found = await self.db[SIGN_INS].find_one_and_delete({"_id": state})
        if found is None or now - _utc(found["created_at"]) > timedelta(seconds=SIGN_IN_SECONDS):
            return None
        return PendingSignIn(
            found["_id"], found["nonce"], found["verifier"], found["next"], found["created_at"]
        )

    # Preferences ----------------------------------------------------------------------

    async def language(self, subject: str) -> str | None:
        found = await self.db[PREFERENCES].find_one({"_id": subject})
        return found.get("language") if found else None

    async def set_language(self, subject: str, language: str | None) -> None:
        await self.db[PREFERENCES].update_one(
            {"_id": subject}, {"$set": {"language": language}}, upsert=True
        )

    # Forms submitted once -------------------------------------------------------------

    async def first_submission(self, form_id: str, session_id: str, now: datetime) -> bool:
        """True the first time a form (by its one-time id) is submitted in this session."""
        try:
            await self.db[SUBMISSIONS].insert_one(
                {"_id": f"{session_id}:{form_id}", "created_at": now, "done": None}
            )
        except DuplicateKeyError:
            return False
        return True

    async def submission_done(self, form_id: str, session_id: str, location: str) -> None:
        await self.db[SUBMISSIONS].update_one(
            {"_id": f"{session_id}:{form_id}"}, {"$set": {"done": location}}
        )

    async def submission_result(self, form_id: str, session_id: str) -> str | None:
        found = await self.db[SUBMISSIONS].find_one({"_id": f"{session_id}:{form_id}"})
        return found.get("done") if found else None
