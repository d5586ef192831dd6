"""Every way a request can be refused answers in one shape, RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from telemachus.shared.errors import Conflict, Forbidden, NotFound, Unauthenticated
from telemachus.shared.runtime.http import BodySizeLimit, install_error_handlers
from telemachus.shared.runtime.problems import PROBLEM_JSON


class Booking(BaseModel):
    minutes: int = Field(le=240)
    topic: str


def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/bookings/{booking_id}")
    async def book(booking_id: int, booking: Booking) -> dict[str, Any]:
        if booking.topic == "taken":
            raise Conflict("already booked at that time", field="topic")
        if booking.topic == "twice":
            raise DuplicateKeyError("E11000", 11000, {"keyPattern": {"topic": 1}})
        if booking.topic == "nobody":
            raise NotFound("no such mentor", field="topic")
        if booking.topic == "anonymous":
            raise Unauthenticated("an Authorization: Bearer <token> header is required")
        if booking.topic == "stranger":
            raise Forbidden("only the relationship's parties")
        return {"ok": True}

    app.add_middleware(BodySizeLimit, max_bytes=100)
    return TestClient(app)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("urn:telemachus:problem:")
    return body


def test_a_domain_refusal_names_its_field_and_reason() -> None:
    body = problem_of(client().post("/bookings/1", json={"minutes": 30, "topic": "taken"}), 409)
    assert body["detail"] == "already booked at that time" and body["field"] == "topic"
    assert body["errors"] == [{"field": "topic", "reason": "already booked at that time"}]
    # The occurrence is a trace (none recorded here), never the path: a path can carry what
    # the caller may not see echoed (an answer's id).
    assert "instance" not in body
    assert problem_of(client().post("/bookings/1", json={"minutes": 3, "topic": "nobody"}), 404)


def test_a_malformed_request_lists_every_field_at_fault_and_where() -> None:
    response = client().post("/bookings/x", json={"minutes": 300})
    body = problem_of(response, 422)
    found = {(e["where"], e["field"]) for e in body["errors"]}
    assert found == {("path", "booking_id"), ("body", "minutes"), ("body", "topic")}
    assert "minutes" in body["detail"] and body["type"].endswith(":invalid")


def test_sign_in_and_permission_refusals() -> None:
    anonymous = client().post("/bookings/1", json={"minutes": 3, "topic": "anonymous"})
    assert problem_of(anonymous, 401) and anonymous.headers["www-authenticate"] == "Bearer"
    assert problem_of(client().post("/bookings/1", json={"minutes": 3, "topic": "stranger"}), 403)


def test_a_race_caught_by_a_unique_index_is_a_conflict_on_its_field() -> None:
    body = problem_of(client().post("/bookings/1", json={"minutes": 3, "topic": "twice"}), 409)
    assert (body["detail"], body["field"]) == ("already exists", "topic")


def test_no_route_no_method_and_too_large_are_problems_too() -> None:
    assert "nowhere" not in client().get("/nowhere").text
    assert problem_of(client().get("/nowhere"), 404)
    assert problem_of(client().get("/bookings/1"), 405)
    large = client().post(
        "/bookings/1",
        content=b"{" + b" " * 200 + b"}",
        headers={"content-type": "application/json"},
    )
    assert "over 100 bytes" in problem_of(large, 413)["detail"]


def test_a_body_that_is_not_json_says_so_and_where() -> None:
    response = client().post(
        "/bookings/1", content=b'{"minutes": 3,', headers={"content-type": "application/json"}
    )
    body = problem_of(response, 422)
    assert body["field"] == "body" and "not valid JSON at character 14" in body["detail"]
