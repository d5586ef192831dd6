"""Every list the APIs return is a page: at most `limit` items after the cursor `after`
(the last id of the previous page), in id order. The response says how many there are in
all (`X-Total-Count`) and where the next page is (`Link: <…>; rel="next"`, RFC 8288), so
a list is never cut short without saying so, and the body stays a plain JSON array."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Query, Request, Response

T = TypeVar("T")
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
HEADERS = {
    "X-Total-Count": {
        "description": "how many items the whole list holds",
        "schema": {"type": "integer"},
    },
    "Link": {
        "description": 'the next page, as <url>; rel="next" (absent on the last page)',
        "schema": {"type": "string"},
    },
}
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": HEADERS}}


def _id(item: Any) -> str:
    return str(item.id)


class Page:
    """A FastAPI dependency: the cursor and size asked for, and how to answer with a page."""

    def __init__(
        self,
        request: Request,
        response: Response,
        after: str | None = Query(
            None, max_length=300, description="the last id of the previous page"
        ),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page"),
    ) -> None:
        self._request = request
        self._response = response
        self.after = after
        self.limit = limit

    def of(self, items: Sequence[T], key: Callable[[T], str] | None = _id) -> list[T]:
        """A page of `items` in `key` order; with no key, in the order given (a ranking),
        the cursor being the position."""
        if key is None:
            ordered = list(items)
            keys = [f"{i:08d}" for i in range(1, len(ordered) + 1)]
        else:
            ordered = sorted(items, key=key)
            keys = [key(item) for item in ordered]
        start = bisect_right(keys, self.after) if self.after is not None else 0
        page = ordered[start : start + self.limit]
        self._response.headers["X-Total-Count"] = str(len(ordered))
        if start + self.limit < len(ordered):
            following = self._request.url.include_query_params(
                after=keys[start + len(page) - 1], limit=self.limit
            )
            self._response.headers["Link"] = f'<{following}>; rel="next"'
        return page
