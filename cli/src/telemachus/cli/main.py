"""The `telemachus` command: a local federation, the skeleton demo, one service, schemas."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import httpx
import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from telemachus.cli import dead_letters as dead_letters_cli
from telemachus.cli import traces as traces_file
from telemachus.cli.catalog import write_catalog, write_openapi
from telemachus.cli.federation import BOOTSTRAPS, DEFAULT_INSTITUTIONS, Federation
from telemachus.cli.portal_browser import snapshot
from telemachus.cli.sign_in import SignInFailed
from telemachus.cli.sign_in_state import login_token, read_home, seed_people, write_state
from telemachus.cli.skeleton import FlowError, SkeletonFlow
from telemachus.shared.contracts.catalog import write_schemas
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.runtime.http import KEEP_ALIVE_SECONDS
from telemachus.shared.runtime.local_infra import LocalInfrastructure
from telemachus.shared.runtime.local_mail import LocalMailServer
from telemachus.shared.runtime.logs import configure_logging
from telemachus.shared.runtime.settings import ServiceSettings
from telemachus.shared.runtime.telemetry import JsonLinesSpanExporter, service_resource
from telemachus.shared.security.keys import (
    load_or_create_development_trust,
)

STATE_DIR = Path(".telemachus")


def say(message: str) -> None:
    print(message, flush=True)


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        say(f"[{time.monotonic() - self.started:5.1f}s] {message}")


@contextlib.contextmanager
def local_infrastructure(progress: Clock) -> Iterator[LocalInfrastructure]:
    progress("starting the local Kafka broker (Tansu) and MongoDB server (SecantusDB)")
    infra = LocalInfrastructure()
    infra.start(progress=progress)
    progress(f"  kafka   {infra.kafka_bootstrap_servers}  (pid {infra.servers[0].pid})")
    progress(f"  mongodb {infra.mongodb_uri}  (pid {infra.servers[1].pid})")
    try:
        yield infra
    finally:
        progress("stopping the local broker and store")
        infra.stop()


@contextlib.contextmanager
def local_mail(progress: Clock, maildir: Path, port: int = 0) -> Iterator[LocalMailServer]:
    server = LocalMailServer(maildir, port=port)
    server.start()
    progress(f"  smtp    127.0.0.1:{server.port}  (mail kept in the maildir {maildir})")
    try:
        yield server
    finally:
        server.stop()


async def settled_mail(mail: LocalMailServer, quiet_seconds: float = 2.0) -> list[Message]:
    """The maildir once nothing new has arrived for `quiet_seconds` (at most a minute)."""
    deadline = time.monotonic() + 60
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = mail.counts.stored
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            break
        await asyncio.sleep(0.2)
    return mail.messages()


def mail_summary(messages: list[Message]) -> list[str]:
    by_person: dict[str, list[str]] = {}
    for message in sorted(messages, key=lambda m: str(m["Date"])):
        by_person.setdefault(str(message["To"]), []).append(str(message["Subject"]))
    return [f"   {to}: " + "; ".join(subjects) for to, subjects in sorted(by_person.items())]


async def _demo(
    infra: LocalInfrastructure, clock: Clock, traces: Path, mail: LocalMailServer
) -> int:
    federation = Federation(
        infra.kafka_bootstrap_servers,
        infra.mongodb_uri,
        telemetry_exporter="file",
        telemetry_file=traces,
        identity_providers=True,
        mail_relay=("127.0.0.1", mail.port),
    )
    await federation.start(progress=clock)
    # The flow's root span: a coordinator's client, not a service of any institution.
    provider = TracerProvider(resource=service_resource("demo-client", "cli"))
    provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(traces)))
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            flow = SkeletonFlow(federation, client, provider.get_tracer("telemachus.cli"), clock)
            result = await flow.run()
        lead = federation.institutions[0].id
        program_page = f"/coordinate/programs/{result.program_id}"
        clock(f"9. {lead}'s coordinator opens the program in the portal")
        shot = await snapshot(
            federation.portal_url(lead),
            f"coordinator@{lead}",
            program_page,
            traces.with_name("portal-program.png"),
        )
        clock("10. Each person's home told them what needs them, by e-mail and in the portal")
        told = await settled_mail(mail)
        for line in mail_summary(told):
            say(line)
    except (FlowError, httpx.HTTPError) as error:
        clock(f"FAILED: {type(error).__name__}: {error}")
        return 1
    finally:
        provider.shutdown()
        await federation.stop()
    clock(
        "done: program -> enrolments -> pool -> round -> acceptance -> relationship -> "
        "feedback window -> evaluation report"
    )
    say(f"relationships: {', '.join(r['id'] for r in result.relationships)}")
    say(f"feedback windows: {', '.join(w['id'] for w in result.windows)}")
    report = traces.with_name("report.html")
    report.write_text(result.report_html)
    say(f"evaluation report (small groups suppressed) written to {report}")
    say(
        f"the portal showed it at {federation.portal_url(lead)}{program_page}: "
        + (f"screenshot written to {shot}" if shot else "no Chromium here for a screenshot")
        + " (`make up` keeps the portals running)"
    )
    say(f"spans written to {traces}")
    say(f"trace id: {result.trace_id}")
    return 0


def demo(args: argparse.Namespace) -> int:
    clock = Clock()
    traces = Path(args.traces)
    maildir = traces.with_name("mail")
    shutil.rmtree(maildir, ignore_errors=True)  # this run's mail only
    with local_infrastructure(clock) as infra, local_mail(clock, maildir) as mail:
        code = asyncio.run(_demo(infra, clock, traces, mail))
    say(f"the demo's e-mails are in the maildir {maildir} (any Maildir reader opens it)")
    return code


async def _up(
    infra: LocalInfrastructure,
    clock: Clock,
    base_port: int,
    traces: Path,
    trust_dir: Path,
    mail: LocalMailServer,
) -> None:
    federation = Federation(
        infra.kafka_bootstrap_servers,
        infra.mongodb_uri,
        base_port=base_port,
        trust_dir=trust_dir,
        telemetry_exporter="file",
        telemetry_file=traces,
        identity_providers=True,
        mail_relay=("127.0.0.1", mail.port),
    )
    await federation.start(progress=clock)
    try:
        clock("seeding a coordinator and two people per institution")
        seeded = await seed_people(federation)
        state = trust_dir.parent / "federation.json"
        write_state(state, federation)
        for institution in federation.institutions:
            say(f"\n{institution.name} ({institution.kind}, id {institution.id})")
            for service in SERVICES:
                url = federation.url(institution.id, service)
                say(f"  {service:9} {url}   docs {url}/docs   events {url}/asyncapi")
            say(
                f"  sign-in   {federation.idps[institution.id].issuer} (development IdP: any "
                f"password) as {', '.join(seeded[institution.id])}"
            )
            say(f"  portal    {federation.portal_url(institution.id)}   (the web front end)")
        say(
            f"\nintegrators: Kafka at {infra.kafka_bootstrap_servers} (local: no TLS, no SASL); "
            "topics telemachus.<institution>.<service>, signed CloudEvents (docs/integrators/)"
        )
        first, lead = federation.institutions[0].id, federation.institutions[-1].id
        login = f"telemachus login --state {state.resolve()}"
        identity = federation.url(first, "identity")
        say(
            "\nevery call needs a bearer token: sign in at the institution's IdP, e.g.\n"
            f"  TOKEN=$({login} --institution {first} --login coordinator)\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {identity}/programs\n'
            f"and for a partner leading a program, a token exchanged at home:\n"
            f"  TOKEN=$({login} --institution {first} --login ada --for {lead})"
        )
        say(
            f"\ne-mail: every institution's notifier sends through the local SMTP server at "
            f"127.0.0.1:{mail.port}; read the mail in the maildir {mail.maildir_path} "
            "(e.g. `mutt -f`), notices also in each portal's Notifications page"
        )
        say(f"\ntraces are appended to {traces}; press Ctrl-C to stop")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        clock("stopping the federation")
    finally:
        await federation.stop()  # services and IdPs, whatever failed on the way


def busy_ports(host: str, first: int, count: int) -> list[int]:
    """Which of `count` ports from `first` another program already listens on."""
    busy = []
    for port in range(first, first + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def up(args: argparse.Namespace) -> int:
    clock = Clock()
    # The services, then a portal per institution, then the local SMTP server.
    wanted = len(DEFAULT_INSTITUTIONS) * (len(SERVICES) + 1) + 1
    if args.base_port:
        taken = busy_ports("127.0.0.1", args.base_port, wanted)
        if taken:
            last = args.base_port + wanted - 1
            print(
                f"port(s) {', '.join(map(str, taken))} of {args.base_port}-{last} are in use by "
                "another program: stop it, or choose other ports with "
                f"`telemachus up --base-port {args.base_port + 1000}` "
                "(`--base-port 0` takes any free ports)",
                file=sys.stderr,
            )
            return 2
    smtp_port = args.base_port + wanted - 1 if args.base_port else 0
    maildir = Path(args.traces).with_name("mail")
    with local_infrastructure(clock) as infra, local_mail(clock, maildir, smtp_port) as mail:
        asyncio.run(
            _up(infra, clock, args.base_port, Path(args.traces), Path(args.trust_dir), mail)
        )
    return 0


def service(args: argparse.Namespace) -> int:
    """One service, settings from TELEMACHUS_* (how containers and Kubernetes run it)."""
    settings = ServiceSettings(service=args.name)
    configure_logging(settings.log_format, settings.log_level)
    app = BOOTSTRAPS[args.name](settings, None)
    # Requests still running after this are cancelled: a pod stops within its grace period.
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


def kernels(_: argparse.Namespace) -> int:
    """Compile pairing's matching kernels into numba's cache, once, at install or image
    build: a service then loads them in about a second instead of compiling for half a
    minute at every start (NUMBA_CACHE_DIR says where the cache is)."""
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
