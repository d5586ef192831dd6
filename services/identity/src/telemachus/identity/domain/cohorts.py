"""Cohorts: groups of people on the roster (from HR as SCIM groups, or made by a
coordinator) that a coordinator can invite to a program at once."""

from __future__ import annotations

from pydantic import Field

from telemachus.shared.domain import Aggregate


class Cohort(Aggregate):
    display_name: str = Field(min_length=1, max_length=200)
    member_ids: list[str] = Field(default_factory=list)
    # How the HR system names each member in the group (SCIM `display`), by id.
    member_display: dict[str, str] = Field(default_factory=dict)
    external_id: str | None = Field(default=None, max_length=200)
