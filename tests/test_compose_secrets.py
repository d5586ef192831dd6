"""Issue 15, deployment files: the compose secrets job run as compose runs it (as root, on
empty root-owned volumes), then every container's user reading what it mounts, as that
user: each reads its own secrets and no other's. No Docker engine here, so the volumes are
folders and each container's user is taken on with setpriv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTITUTIONS = ["st-marys-hospital", "northgate-university"]
# The users the images run as: ours (deploy/Dockerfile), apache/kafka, mongo, grafana.
KAFKA, MONGO, GRAFANA = 1000, 999, 472

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="hands files to other users, as the compose job does: needs root and setpriv",
)


def service_user() -> int:
    """The uid the services' image runs as: its USER, made by useradd --uid."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    user = re.search(r"^USER\s+(\S+)", dockerfile, re.M)
    made = re.search(r"useradd .*--uid (\d+) .*?(\S+)$", dockerfile, re.M)
    assert user and made and made.group(2) == user.group(1), "no USER made with useradd --uid"
    return int(made.group(1))


def reads(uid: int, path: Path) -> bool:
    done = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "cat", str(path)],
        capture_output=True,
    )
    return done.returncode == 0 and bool(done.stdout)


def run_secrets_job(volumes: Path) -> str:
    env = {
        **os.environ,
        "SECRETS_ROOT": str(volumes),
        "INSTITUTIONS": " ".join(INSTITUTIONS),
        "INTEGRATORS": f"{INSTITUTIONS[0]}/warehouse=feedback",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "compose" / "dev-secrets.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def volumes() -> Iterator[Path]:
    """Volumes as Docker makes them: folders every container user may pass through (the
    pytest temporary folder is the root user's alone)."""
    made = Path(tempfile.mkdtemp(prefix="telemachus-volumes-"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made)


def test_each_container_reads_its_own_secrets_as_its_user_and_no_one_elses(
    volumes: Path,
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    job = compose["services"]["secrets"]
    mounted = [m.split(":")[1].lstrip("/") for m in job["volumes"] if not m.startswith(".")]
    for folder in mounted:  # what compose hands the job: empty volumes owned by root
        (volumes / folder).mkdir(parents=True)
    assert "development secrets made" in run_secrets_job(volumes)

    services = service_user()
    own: dict[int, list[Path]] = {
        KAFKA: [volumes / "kafka-admin" / f for f in ("admin.properties", "client.properties")],
        GRAFANA: [volumes / "grafana" / "admin-password"],
        services: [volumes / "registry" / "registry.json"],
        MONGO: [],
    }
    for institution in INSTITUTIONS:
        secrets = volumes / f"secrets-{institution}"
        own[services] += [secrets / "keys.json", secrets / "kafka-password"]
        own[services] += [secrets / f"mongo-{s}.password" for s in ("identity", "feedback")]
        own[KAFKA].append(volumes / "kafka-admin" / f"{institution}.kafka-password")
        mongo = volumes / f"mongo-{institution}"
        own[MONGO] += [mongo / "keyfile", mongo / "root-password", mongo / "mongo-pairing.password"]
    # The read-only integrator's password: the setup job's, and the integrator's own.
    own[KAFKA].append(volumes / "kafka-admin" / f"{INSTITUTIONS[0]}.warehouse.kafka-password")
    own[services].append(volumes / "integrators" / f"{INSTITUTIONS[0]}.warehouse.kafka-password")
    for uid, paths in own.items():
        for path in paths:
            assert reads(uid, path), f"uid {uid} cannot read {path.relative_to(volumes)}"
    # mongod refuses a keyfile that others can read.
    keyfile = volumes / f"mongo-{INSTITUTIONS[0]}" / "keyfile"
    assert keyfile.stat().st_mode & 0o077 == 0 and keyfile.stat().st_uid == MONGO
    # Nobody reads another's secrets (the public registry aside).
    for uid in own:
        for other, theirs in own.items():
            for path in theirs:
                if other != uid and path.name != "registry.json":
                    assert not reads(uid, path), f"uid {uid} reads {path.relative_to(volumes)}"

    # A second `docker compose up` keeps what the first made.
    before = (volumes / "kafka-admin" / "admin.properties").read_bytes()
    assert "keeping them" in run_secrets_job(volumes)
    assert (volumes / "kafka-admin" / "admin.properties").read_bytes() == before
