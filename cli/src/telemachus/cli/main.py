"""The `telemachus` command: a local federation, the skeleton demo, one service, schemas."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from telemachus.cli import dead_letters as dead_letters_cli
from telemachus.cli import traces as traces_file
from telemachus.cli.progress import say
from telemachus.cli.sign_in import SignInFailed
from telemachus.cli.sign_in_state import login_token, read_home
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime.logs import configure_logging
from telemachus.shared.security.keys import (
    load_or_create_development_trust,
)

STATE_DIR = Path(".telemachus")


def demo(args: argparse.Namespace) -> int:
    from telemachus.cli import local_run  # imports every service: only when asked for

    return local_run.demo(args)


def up(args: argparse.Namespace) -> int:
    from telemachus.cli import local_run

    return local_run.up(args)


def service(args: argparse.Namespace) -> int:
    from telemachus.cli import one_service  # imports that one service only

    return one_service.service(args)


def kernels(_: argparse.Namespace) -> int:
    """Compile pairing's matching kernels into numba's cache, once, at install or image
    build: a service then loads them in about a second instead of compiling for half a
    minute at every start (the cache: NUMBA_CACHE_DIR, else ~/.cache/telemachus/numba)."""
    from telemachus.pairing.matching import engine

    started = time.perf_counter()
    engine.warm_up()
    loaded, compiled = engine.kernels_loaded_and_compiled()
    say(
        f"pairing's matching kernels: {compiled} compiled, {loaded} loaded from numba's cache "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def schemas(args: argparse.Namespace) -> int:
    from telemachus.cli.catalog import write_catalog, write_openapi  # builds every service
    from telemachus.shared.contracts.catalog import write_schemas

    for path in write_schemas(Path(args.out)):
        say(str(path))
    # The integrator library ships the schemas it validates against.
    bundled = Path(args.integrator)
    for path in write_schemas(bundled):
        if path.name.endswith(".example.json"):
            path.unlink()
    say(str(write_catalog(Path(args.catalog))))
    for path in write_openapi(Path(args.openapi)):
        say(str(path))
    return 0


def traces(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        print(
            f"no traces at {path}: run `telemachus demo` or `telemachus up` first", file=sys.stderr
        )
        return 2
    spans = traces_file.read_spans(path)
    if args.trace_id is None:
        for t in traces_file.summaries(spans)[: args.limit]:
            moment = datetime.fromtimestamp(t.start / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
            errors = f"  {t.errors} error(s)" if t.errors else ""
            say(
                f"{t.trace_id}  {moment}  {t.millis:9.1f} ms  {t.spans:4d} spans  "
                f"{', '.join(t.institutions)}  {t.root}{errors}"
            )
        return 0
    found = traces_file.matching(spans, args.trace_id)
    if len(found) != 1:
        what = "no trace" if not found else f"{len(found)} traces"
        print(f"{what} with an id starting {args.trace_id!r} in {path}", file=sys.stderr)
        return 2
    for line in traces_file.tree(spans, found[0], database=args.db):
        say(line)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="telemachus", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="run the skeleton flow on fresh local servers")
    run_demo.add_argument("--traces", default=str(STATE_DIR / "traces.jsonl"))
    run_demo.set_defaults(func=demo)
    run_up = commands.add_parser("up", help="a three-institution federation on local servers")
    run_up.add_argument(
        "--base-port", type=int, default=8100, help="first HTTP port (0: any free ports)"
    )
    run_up.add_argument("--traces", default=str(STATE_DIR / "traces.jsonl"))
    run_up.add_argument(
        "--trust-dir",
        default=str(STATE_DIR / "trust"),
        help="development registry and keys (made if absent; reused while they fit)",
    )
    run_up.set_defaults(func=up)
    run_service = commands.add_parser("service", help="run one service (settings from env)")
    run_service.add_argument("name", choices=SERVICES)
    run_service.set_defaults(func=service)
    run_login = commands.add_parser(
        "login",
        help="sign in at an institution's IdP (authorization code, PKCE) and print a token",
    )
    run_login.add_argument("--institution", required=True)
    run_login.add_argument("--login", required=True, help="who signs in, e.g. coordinator, ada")
    run_login.add_argument("--password", default="development")
    run_login.add_argument(
        "--for",
        metavar="INSTITUTION",
        help="a token for this institution's services, exchanged at home (RFC 8693); "
        "without it, the IdP's own token for the home's services",
    )
    run_login.add_argument(
        "--state",
        default=os.environ.get("TELEMACHUS_STATE", str(STATE_DIR / "federation.json")),
        help="what `telemachus up` wrote about its IdPs and services (it prints the path; "
        "default $TELEMACHUS_STATE, else .telemachus/federation.json here)",
    )
    run_login.set_defaults(func=login)
    run_trust = commands.add_parser(
        "dev-trust", help="write a development trust registry and keys (containers, demos)"
    )
    run_trust.add_argument("--dir", default=str(STATE_DIR / "trust"))
    run_trust.add_argument(
        "institutions",
        nargs="+",
        help="institution ids, each as ID or ID:KIND (hospital, university, research-centre; "
        "without one, the id's words tell it, e.g. northgate-university)",
    )
    run_trust.add_argument(
        "--oidc-issuer",
        action="append",
        metavar="ID=URL",
        help="the institution's OpenID Connect provider, named in the registry (repeat)",
    )
    run_trust.add_argument(
        "--kafka-passwords",
        action="store_true",
        help="also a random Kafka password per institution (<id>.kafka-password)",
    )
    run_trust.set_defaults(func=dev_trust)
    run_traces = commands.add_parser(
        "traces", help="list recent traces of local runs, or print one as a tree"
    )
    run_traces.add_argument("trace_id", nargs="?", help="a trace id, or its first characters")
    run_traces.add_argument("--file", default=str(STATE_DIR / "traces.jsonl"))
    run_traces.add_argument("--limit", type=int, default=20)
    run_traces.add_argument("--db", action="store_true", help="also show MongoDB calls")
    run_traces.set_defaults(func=traces)
    dead_letters_cli.add_parser(commands)
    run_kernels = commands.add_parser(
        "kernels", help="compile pairing's matching kernels into numba's cache (install step)"
    )
    run_kernels.set_defaults(func=kernels)
    run_schemas = commands.add_parser(
        "schemas",
        help="write each event's JSON Schema, the merged AsyncAPI catalog and each OpenAPI",
    )
    run_schemas.add_argument("--out", default="docs/events")
    run_schemas.add_argument("--catalog", default="docs/asyncapi.json")
    run_schemas.add_argument("--openapi", default="docs/openapi")
    run_schemas.add_argument("--integrator", default="integrator/src/telemachus_integrator/schemas")
    run_schemas.set_defaults(func=schemas)
    return top


def login(args: argparse.Namespace) -> int:
    """Sign in at the institution's IdP (the development one of `up`) and print a token."""
    try:
        home = read_home(Path(args.state), args.institution)
        print(asyncio.run(login_token(home, args.login, args.password, getattr(args, "for"))))
    except (LookupError, SignInFailed, httpx.HTTPError) as error:
        print(f"cannot sign in: {error}", file=sys.stderr)
        return 2
    return 0


KIND_WORDS = {
    "hospital": InstitutionKind.HOSPITAL,
    "clinic": InstitutionKind.HOSPITAL,
    "health": InstitutionKind.HOSPITAL,
    "university": InstitutionKind.UNIVERSITY,
    "college": InstitutionKind.UNIVERSITY,
    "school": InstitutionKind.UNIVERSITY,
    "research": InstitutionKind.RESEARCH_CENTRE,
    "centre": InstitutionKind.RESEARCH_CENTRE,
    "center": InstitutionKind.RESEARCH_CENTRE,
    "institute": InstitutionKind.RESEARCH_CENTRE,
    "lab": InstitutionKind.RESEARCH_CENTRE,
}


def institution_of(spec: str) -> tuple[str, str, InstitutionKind]:
    """`ID` or `ID:KIND` -> (id, name, kind); without a kind, the id's words tell it."""
    institution, _, kind = spec.partition(":")
    if kind:
        try:
            return institution, institution.replace("-", " ").title(), InstitutionKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in InstitutionKind)
            raise ValueError(f"{spec}: the kind must be one of {kinds}") from None
    guessed = next(
        (KIND_WORDS[w] for w in institution.split("-") if w in KIND_WORDS),
        InstitutionKind.HOSPITAL,
    )
    return institution, institution.replace("-", " ").title(), guessed


def dev_trust(args: argparse.Namespace) -> int:
    """Not for production: there each institution makes its own keys and shares public ones."""
    try:
        members = [institution_of(spec) for spec in args.institutions]
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    issuers = {}
    for spec in args.oidc_issuer or []:
        institution, sep, issuer = spec.partition("=")
        if not sep or not issuer:
            print(f"--oidc-issuer {spec!r}: expected ID=URL", file=sys.stderr)
            return 2
        issuers[institution] = issuer
    registry, key_files = load_or_create_development_trust(Path(args.dir), members, issuers)
    say(f"registry: {registry}")
    for institution, path in key_files.items():
        say(f"keys of {institution}: {path}")
        if args.kafka_passwords:
            secret = Path(args.dir) / f"{institution}.kafka-password"
            if not secret.exists():  # kept across runs, like the keys
                secret.touch(mode=0o600)
                secret.write_text(secrets.token_urlsafe(24))
            say(f"kafka password of {institution}: {secret}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in ("demo", "up"):
        configure_logging("text", os.environ.get("TELEMACHUS_LOG_LEVEL", "WARNING"))
        logging.getLogger("faststream").setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `telemachus traces | head`: the reader had enough
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
