"""`telemachus dead-letters`: a service's dead letters through its `/dead-letters` API,
as one of its institution's operators (a bearer token with the operator role)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx


def add_parser(commands: Any) -> None:
    run = commands.add_parser(
        "dead-letters", help="list, show and replay a service's dead letters (operators)"
    )
    run.add_argument("action", choices=["list", "show", "replay"])
    run.add_argument("letter_id", nargs="?", help="for show and replay: the id `list` printed")
    run.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8101")
    run.add_argument(
        "--token",
        default=os.environ.get("TELEMACHUS_TOKEN"),
        help="a bearer token with the operator role (default $TELEMACHUS_TOKEN; locally "
        "`telemachus login --institution ID --login coordinator` after `up`)",
    )
    run.add_argument("--json", action="store_true", help="print the API's JSON as it is")
    run.set_defaults(func=dead_letters)


def dead_letters(args: argparse.Namespace) -> int:
    if not args.token:
        print("a token is needed: --token or TELEMACHUS_TOKEN", file=sys.stderr)
        return 2
    if args.action != "list" and not args.letter_id:
        print(f"`{args.action}` needs the dead letter's id (from `list`)", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"}
    base = args.url.rstrip("/") + "/dead-letters"
    with httpx.Client(headers=headers, timeout=60) as client:
        try:
            if args.action == "list":
                return _list(client, base, args.json)
            if args.action == "show":
                return _answer(client.get(f"{base}/{args.letter_id}"), pretty=True)
            return _answer(client.post(f"{base}/{args.letter_id}/replay"), pretty=True)
        except httpx.TransportError as error:
            print(f"cannot reach {args.url}: {error}", file=sys.stderr)
            return 2


def _list(client: httpx.Client, base: str, raw: bool) -> int:
    url: str | None = base
    while url is not None:  # every page: the API says where the next one is
        response = client.get(url)
        if response.status_code != 200:
            return _answer(response, pretty=True)
        for letter in response.json():
            if raw:
                print(json.dumps(letter))
                continue
            replayed = letter.get("replayed") or {}
            settled = f"  replayed: {replayed['last']['outcome']}" if replayed else ""
            print(
                f"{letter['id']}  {letter['failed_at']}  {letter['reason']:<16} "
                f"{letter['event']['type']}  from {letter['original']['topic']}"
                f"  trace {letter['trace_id'] or '-'}{settled}"
            )
        url = response.links.get("next", {}).get("url")
    return 0


def _answer(response: httpx.Response, *, pretty: bool) -> int:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    print(json.dumps(body, indent=2 if pretty else None, default=str))
    return 0 if response.status_code < 400 else 1
