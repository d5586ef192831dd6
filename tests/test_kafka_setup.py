"""deploy/kafka/setup.sh run as the compose job runs it, with Kafka's admin tools replaced by
recorders: which principals, ACLs and topics it asks the broker for. The broker enforcing
those ACLs is Apache Kafka's part (the compose federation); the local stand-in broker has no
ACLs, so what is checked here is that the script never grants an integrator more than
reading what it is entitled to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTITUTIONS = "st-marys-hospital northgate-university"
RECORDER = """#!/bin/sh
printf '%s' "$(basename "$0")" >> "$LOG"
for arg in "$@"; do printf '\\t%s' "$arg" >> "$LOG"; done
printf '\\n' >> "$LOG"
"""


def run_setup(
    tmp_path: Path, integrators: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    for tool in ("kafka-topics.sh", "kafka-configs.sh", "kafka-acls.sh"):
        (tools / tool).write_text(RECORDER)
        (tools / tool).chmod(0o755)
    passwords = tmp_path / "passwords"
    passwords.mkdir(exist_ok=True)
    for principal in (*INSTITUTIONS.split(), "st-marys-hospital.hr-system"):
        (passwords / f"{principal}.kafka-password").write_text(f"secret-of-{principal}")
    log = tmp_path / "calls.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["bash", str(ROOT / "deploy" / "kafka" / "setup.sh")],
        env={
            "PATH": os.environ["PATH"],
            "LOG": str(log),
            "KAFKA_BIN": str(tools),
            "BOOTSTRAP": "kafka:9094",
            "INSTITUTIONS": INSTITUTIONS,
            "INTEGRATORS": integrators,
            "PASSWORD_DIR": str(passwords),
            # A warehouse's password from the environment, as a secret manager gives it.
            "PASSWORD_northgate_university_warehouse": "from-the-environment",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


def grants(calls: list[list[str]], principal: str) -> list[tuple[frozenset[str], str, str, str]]:
    """(operations, resource kind, name, pattern type) of every ACL added for a principal."""
    found = []
    for call in calls:
        if call[0] != "kafka-acls.sh" or f"User:{principal}" not in call:
            continue
        operations = frozenset(call[i + 1] for i, a in enumerate(call) if a == "--operation")
        kind = next(a for a in call if a in ("--topic", "--group"))
        name = call[call.index(kind) + 1]
        pattern = call[call.index("--resource-pattern-type") + 1]
        grants_of = (operations, kind.removeprefix("--"), name, pattern)
        found.append(grants_of)
    return found


def test_an_integrator_can_read_only_what_it_is_entitled_to(tmp_path: Path) -> None:
    done, calls = run_setup(
        tmp_path,
        "st-marys-hospital/hr-system=identity,sessions northgate-university/warehouse=feedback",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(grants(calls, "st-marys-hospital.hr-system")) == sorted(
        [
            (
                frozenset({"Read", "Describe"}),
                "topic",
                "telemachus.st-marys-hospital.identity",
                "literal",
            ),
            (
                frozenset({"Read", "Describe"}),
                "topic",
                "telemachus.st-marys-hospital.sessions",
                "literal",
            ),
            (frozenset({"Read"}), "group", "integrator.st-marys-hospital.hr-system.", "prefixed"),
        ]
    )
    warehouse = grants(calls, "northgate-university.warehouse")
    assert [g[2] for g in warehouse] == [
        "telemachus.northgate-university.feedback",
        "integrator.northgate-university.warehouse.",
    ]
    for principal in ("st-marys-hospital.hr-system", "northgate-university.warehouse"):
        for operations, _, _, _ in grants(calls, principal):
            assert operations <= {"Read", "Describe"}, (principal, operations)
    users = {c[c.index("--entity-name") + 1]: c[-1] for c in calls if c[0] == "kafka-configs.sh"}
    assert "password=secret-of-st-marys-hospital.hr-system]" in users["st-marys-hospital.hr-system"]
    assert "password=from-the-environment]" in users["northgate-university.warehouse"]
    # The institutions themselves still publish on their own topics.
    assert (
        frozenset({"Write", "Create", "Describe"}),
        "topic",
        "telemachus.st-marys-hospital.",
        "prefixed",
    ) in grants(calls, "st-marys-hospital")
    assert "integrator st-marys-hospital.hr-system: SCRAM-SHA-512, read-only" in done.stdout


@pytest.mark.parametrize(
    ("integrators", "said"),
    [
        ("st-marys-hospital/hr=identity,payroll", "no service 'payroll'"),
        ("elsewhere/hr=identity", "names no institution"),
        ("st-marys-hospital=identity", "is not <institution>/<name>=<service>"),
        (
            "northgate-university/nopassword=identity",
            "no password for northgate-university.nopassword",
        ),
    ],
)
def test_a_wrong_integrator_entry_is_refused_naming_it(
    tmp_path: Path, integrators: str, said: str
) -> None:
    done, calls = run_setup(tmp_path, integrators)
    assert done.returncode != 0 and said in done.stderr, done.stderr
    if "password" not in said:  # checked before anything is asked of the broker
        assert [c for c in calls if c[0] != "kafka-topics.sh"] == []
