"""The telemachus command as a user runs it: `up` serves, Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from telemachus.cli import main as cli_main
from telemachus.cli.dev_idp import groups_for
from telemachus.cli.federation import Federation
from telemachus.cli.main import main
from telemachus.shared.contracts.topics import event_topic
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.tokens import Role
from telemachus.shared.testing.kafka import eventually, produce_event
from telemachus.shared.testing.samples import envelope, program_published
from tests.test_local_infra import alive


async def test_up_serves_every_api_and_stops_cleanly_on_ctrl_c(tmp_path: object) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telemachus.cli.main",
        "up",
        "--base-port",
        "0",
        "--traces",
        f"{tmp_path}/traces.jsonl",
        "--trust-dir",
        f"{tmp_path}/trust",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(120):
            while not any("press Ctrl-C to stop" in line for line in output):
                line = (await process.stdout.readline()).decode()
                assert line, "up exited early:\n" + "".join(output)
                output.append(line)
        text = "".join(output)
        pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]
        urls = re.findall(r"^\s+(\w+)\s+(http://\S+)\s+docs", text, re.MULTILINE)
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        assert len(urls) == 12 and {name for name, _ in urls} == {
            "identity",
            "pairing",
            "sessions",
            "feedback",
        }
        async with httpx.AsyncClient() as client:
            for _, url in urls:
                ready = await client.get(f"{url}/health/ready")
                assert ready.status_code == 200, ready.text
            docs = await client.get(f"{urls[0][1]}/openapi.json")
            assert "/programs" in docs.json()["paths"]
            # The sign-in the startup text tells a newcomer to use opens the identity API,
            # through the development IdP's authorization-code flow.
            commands = re.findall(r"TOKEN=\$\(telemachus (login .*)\)", text)
            assert len(commands) == 2, text
            token, exchanged = [await _run_cli(command.split()) for command in commands]
            programs = await client.get(f"{urls[0][1]}/programs")
            assert programs.status_code == 401
            programs = await client.get(
                f"{urls[0][1]}/programs", headers={"Authorization": f"Bearer {token}"}
            )
            assert programs.status_code == 200 and programs.json() == []
            # A seeded person's token for the lead carries their pseudonym, not their name.
            claims = jwt.decode(exchanged, options={"verify_signature": False})
            assert claims["roles"] == ["participant"] and ":" in claims["ref"]
            assert claims["aud"] == f"telemachus:{commands[1].split()[-1]}"
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            rest = (await process.stdout.read()).decode()
            code = await process.wait()
    assert code == 0, rest
    assert "stopping the local broker and store" in rest
    assert not any(alive(pid) for pid in pids)


async def _run_cli(args: list[str]) -> str:
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "telemachus.cli.main", *args, stdout=asyncio.subprocess.PIPE
    )
    out = (await run.communicate())[0].decode().strip()
    assert run.returncode == 0, args
    return out


def test_up_on_busy_ports_says_which_and_how_to_choose_others(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `up` configures the process's logging; leave this test process's alone.
    monkeypatch.setattr(cli_main, "configure_logging", lambda *_: None)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["up", "--base-port", str(port - 3)]) == 2
    said = capsys.readouterr().err
    assert str(port) in said and "--base-port" in said
    assert "Traceback" not in said


def test_dev_trust_knows_each_kind_and_login_says_where_the_state_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "trust"
    assert (
        main(
            [
                "dev-trust",
                "--dir",
                str(trust),
                "st-marys-hospital",
                "northgate-university",
                "harbour-research-centre",
                "acme:university",
            ]
        )
        == 0
    )
    registry = TrustRegistry.load(trust / "registry.json")
    assert {i.id: i.kind.value for i in registry} == {
        "st-marys-hospital": "hospital",
        "northgate-university": "university",
        "harbour-research-centre": "research-centre",
        "acme": "university",
    }
    assert main(["dev-trust", "--dir", str(tmp_path / "x"), "acme:castle"]) == 2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["login", "--institution", "acme", "--login", "ada"]) == 2
    said = capsys.readouterr().err
    assert "telemachus up" in said and "--state" in said and "Traceback" not in said


async def test_dead_letters_are_listed_shown_and_replayed_from_the_command_line(
    federation: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unsigned event on the hospital's identity topic is dead-lettered by its pairing;
    an operator finds it, reads why, and a replay says it is refused again."""
    hospital = federation.institutions[0].id
    topic = event_topic(hospital, "identity")
    forged = program_published(f"{hospital}:forged-{secrets.token_hex(3)}")
    headers = envelope(forged, topic)  # not signed
    await produce_event(federation.kafka_bootstrap_servers, topic, forged, headers)
    url = federation.url(hospital, "pairing")
    operator = await federation.sign_in(hospital, f"ops@{hospital}", *groups_for(Role.OPERATOR))
    auth = ["--url", url, "--token", operator]

    async def run(*words: str) -> int:
        return await asyncio.to_thread(main, ["dead-letters", *words, *auth])

    async def listed() -> list[dict[str, Any]]:
        capsys.readouterr()
        assert await run("list", "--json") == 0
        letters = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [x for x in letters if x["event"]["id"] == headers["ce_id"]]

    (letter,) = await eventually(listed)
    assert letter["reason"] == "unsigned"
    assert await run("list") == 0
    assert f"{letter['id']}" in capsys.readouterr().out  # the plain listing names it

    assert await run("show", letter["id"]) == 0
    assert json.loads(capsys.readouterr().out)["headers"]["ce_id"] == headers["ce_id"]
    assert await run("replay", letter["id"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"].startswith("unsigned")

    coordinator = await federation.sign_in(hospital, f"c@{hospital}", *groups_for(Role.COORDINATOR))
    refused = ["dead-letters", "list", "--url", url, "--token", coordinator]
    assert await asyncio.to_thread(main, refused) == 1
    assert "operator" in capsys.readouterr().out
