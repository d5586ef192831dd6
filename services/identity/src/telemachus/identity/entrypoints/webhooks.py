"""Webhooks over HTTP: a coordinator or operator of this institution registers an
integrator's endpoint, sees its deliveries, and replays the dead ones."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from telemachus.identity.service_layer import access
from telemachus.identity.webhooks.deliveries import (
    DELIVERIES,
    SUBSCRIPTIONS,
    replay_dead,
)
from telemachus.identity.webhooks.subscriptions import (
    NewSubscription,
    WebhookSubscription,
    check_endpoint,
    check_event_types,
)
from telemachus.shared.clock import utc_now
from telemachus.shared.contracts.asyncapi import published_on
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.errors import found
from telemachus.shared.runtime.store import Document
from telemachus.shared.security.tokens import Principal, Role


class DeliveryView(BaseModel):
    id: str = Field(description="also the `telemachus-delivery` header of every try")
    event_id: str
    type: str
    key: str
    status: Literal["pending", "delivered", "dead"]
    tries: int
    reason: str | None = Field(default=None, description="why the last try failed")
    created_at: datetime
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    dead_at: datetime | None = None


class Replayed(BaseModel):
    replayed: int


def shown(row: Document) -> WebhookSubscription:
    return WebhookSubscription.model_validate({**row, "id": row["_id"]})


def subscribable() -> list[str]:
    """Every event type this institution's services publish."""
    return [e.event_type for service in SERVICES for e in published_on(service)]


def webhooks_router(
    db: AsyncDatabase[Document],
    institution: str,
    authenticate: Callable[..., Awaitable[Principal]],
    *,
    loopback_http: bool = False,
) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])

    async def manager(who: Principal = Depends(authenticate)) -> Principal:
        access.require_home(who, institution)
        access.require_role(who, Role.COORDINATOR, Role.OPERATOR)
        return who

    async def one(webhook_id: str) -> WebhookSubscription:
        row = await db[SUBSCRIPTIONS].find_one({"_id": webhook_id})
        return shown(found(row, f"webhook {webhook_id}", field="webhook_id"))

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Register an endpoint for some of this institution's events (CloudEvents "
        "over HTTP, binary mode, signed as on Kafka)",
    )
    async def register_webhook(
        body: NewSubscription, who: Principal = Depends(manager)
    ) -> WebhookSubscription:
        subscription = WebhookSubscription(
            id=f"webhook_{secrets.token_urlsafe(9)}",
            url=check_endpoint(body.url, loopback_http=loopback_http),
            event_types=check_event_types(body.event_types, subscribable()),
            description=body.description,
            created_at=utc_now(),
            created_by=who.subject,
        )
        document = {"_id": subscription.id, **subscription.model_dump(exclude={"id"})}
        await db[SUBSCRIPTIONS].insert_one(document)
        return subscription

    @router.get("", summary="This institution's webhooks")
    async def list_webhooks(_: Principal = Depends(manager)) -> list[WebhookSubscription]:
        rows = await db[SUBSCRIPTIONS].find().sort("created_at", 1).to_list(1000)
        return [shown(row) for row in rows]

    @router.get("/{webhook_id}", summary="One webhook")
    async def get_webhook(webhook_id: str, _: Principal = Depends(manager)) -> WebhookSubscription:
        return await one(webhook_id)

    @router.delete(
        "/{webhook_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Stop a webhook: nothing more is sent to it (its deliveries stay listed)",
    )
    async def stop_webhook(webhook_id: str, _: Principal = Depends(manager)) -> Response:
        await one(webhook_id)
        await db[SUBSCRIPTIONS].update_one({"_id": webhook_id}, {"$set": {"active": False}})
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/{webhook_id}/deliveries", summary="A webhook's deliveries, oldest first")
    async def webhook_deliveries(
        webhook_id: str,
        delivery_status: Literal["pending", "delivered", "dead"] = "pending",
        limit: int = 100,
        _: Principal = Depends(manager),
    ) -> list[DeliveryView]:
        await one(webhook_id)
        rows = (
            await db[DELIVERIES]
            .find({"subscription_id": webhook_id, "status": delivery_status}, {"data": 0})
            .sort("created_at", 1)
            .to_list(max(1, min(limit, 1000)))
        )
        return [DeliveryView.model_validate({**row, "id": row["_id"]}) for row in rows]

    @router.post("/{webhook_id}/replay", summary="Send a webhook's dead deliveries again")
    async def replay_webhook(webhook_id: str, _: Principal = Depends(manager)) -> Replayed:
        await one(webhook_id)
        return Replayed(replayed=await replay_dead(db, webhook_id, utc_now()))

    return router
