"""`telemachus demo` and `telemachus up`: a three-institution federation on local servers
(a broker, a store and an SMTP server this process starts and stops).

Apart from main.py so that the command's other uses (`--help`, `login`, `traces`, ...) do
not import every service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, Federation, import_services
from telemachus.cli.portal_browser import snapshot
from telemachus.cli.progress import Clock, say
from telemachus.cli.sign_in_state import seed_people, write_state
from telemachus.cli.skeleton import FlowError, SkeletonFlow
from telemachus.shared.contracts.topics import SERVICES
from telemachus.shared.runtime.local_infra import LocalInfrastructure
from telemachus.shared.runtime.local_mail import LocalMailServer
from telemachus.shared.runtime.telemetry import JsonLinesSpanExporter, service_resource


@contextlib.contextmanager
def local_infrastructure(progress: Clock) -> Iterator[LocalInfrastructure]:
    progress("starting the local Kafka broker (Tansu) and MongoDB server (SecantusDB)")
    infra = LocalInfrastructure()

    def meanwhile() -> None:
        progress("importing the services while they start")
        import_services()

    infra.start(progress=progress, meanwhile=meanwhile)
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
        # The browser starts while the notifiers' mail settles: seconds neither waits for.
        shooting = asyncio.create_task(
            snapshot(
                federation.portal_url(lead),
                f"coordinator@{lead}",
                program_page,
                traces.with_name("portal-program.png"),
            )
        )
        clock("10. Each person's home told them what needs them, by e-mail and in the portal")
        told, shot = await asyncio.gather(settled_mail(mail), shooting)
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
