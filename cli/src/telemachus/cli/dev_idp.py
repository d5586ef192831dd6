"""A development OpenID Connect provider per institution, for `make up` and the tests.

It is node-oidc-provider (OpenID Certified; `deploy/dev-idp/`), not code of ours: it signs
people in through its development pages (any password), issues ID tokens (RS256) and JWT
access tokens for the institution's services (ES256 by default), and publishes its keys at
its JWKS endpoint. `rotate` restarts it with new keys on the same port, as an IdP rotating
its signing key would look to the services.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from telemachus.shared.runtime.local_infra import free_port
from telemachus.shared.security.tokens import Role

IDP_DIR = Path(__file__).resolve().parents[4] / "deploy" / "dev-idp"
PORTAL_CLIENT = "telemachus-portal"
# Where the provider sends the browser back with the code (the CLI reads it from the
# redirect; nothing listens there).
REDIRECT_URI = "http://127.0.0.1/callback"
# The groups the development federation maps to roles (TELEMACHUS_OIDC_ROLE_MAP); everyone
# signed in is also a participant.
COORDINATORS_GROUP = "telemachus-coordinators"
OPERATORS_GROUP = "telemachus-operators"
PROVISIONERS_GROUP = "telemachus-provisioners"
ROLE_GROUPS = {
    Role.COORDINATOR: COORDINATORS_GROUP,
    Role.OPERATOR: OPERATORS_GROUP,
    Role.PROVISIONER: PROVISIONERS_GROUP,
    Role.AUDITOR: "telemachus-auditors",
    Role.INTEGRATOR: "telemachus-integrators",
    Role.SAFEGUARDING: "telemachus-safeguarding",
}


def groups_for(*roles: Role) -> tuple[str, ...]:
    """The IdP groups that give these roles (participant needs none)."""
    return tuple(ROLE_GROUPS[r] for r in roles if r in ROLE_GROUPS)


@dataclass(frozen=True)
class Account:
    """A person the development IdP knows: signs in as `login`, which is also their `sub`."""

    login: str
    email: str
    name: str
    groups: tuple[str, ...] = ()


def private_jwks() -> dict[str, Any]:
    """Fresh signing keys, one per algorithm the services accept (kids are random)."""
    jwks = [
        ("RS256", RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048), as_dict=True)),
        ("ES256", ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)),
        ("EdDSA", OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True)),
    ]
    keys = [
        {**jwk, "kid": f"{alg.lower()}-{secrets.token_hex(4)}", "alg": alg} for alg, jwk in jwks
    ]
    return {"keys": keys}


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("the development IdP needs Node.js 20 (`node` on PATH)")
    return found


@dataclass
class DevelopmentIdp:
    institution: str
    workdir: Path
    audience: str  # what the institution's services accept as `aud` (telemachus:<id>)
    accounts: list[Account] = field(default_factory=list)
    redirect_uris: list[str] = field(default_factory=lambda: [REDIRECT_URI])
    access_token_alg: str = "ES256"
    access_token_seconds: int = 600
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir = self.workdir.resolve()  # node runs in deploy/dev-idp
        self.port = self.port or free_port()
        self.jwks = private_jwks()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "port": self.port,
            "cookie_keys": [secrets.token_urlsafe(24)],
            "jwks": self.jwks,
            "access_token": {
                "audience": self.audience,
                "alg": self.access_token_alg,
                "ttl_seconds": self.access_token_seconds,
            },
            "clients": [{"client_id": PORTAL_CLIENT, "redirect_uris": self.redirect_uris}],
            "accounts_file": str(self._accounts_file),
        }

    @property
    def _accounts_file(self) -> Path:
        return self.workdir / f"idp-{self.institution}.accounts.json"

    def add(self, *accounts: Account) -> None:
        """People the IdP knows from now on (it reads the file on each sign-in)."""
        self.accounts.extend(accounts)
        self.workdir.mkdir(parents=True, exist_ok=True)
        known = {
            a.login: {"email": a.email, "name": a.name, "groups": a.groups} for a in self.accounts
        }
        self._accounts_file.write_text(json.dumps(known))

    @property
    def log_path(self) -> Path:
        return self.workdir / f"idp-{self.institution}.log"

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it: a launcher starts every institution's
        IdP, then waits for them all."""
        if not (IDP_DIR / "node_modules" / "oidc-provider").exists():
            raise RuntimeError(f"run `npm ci --prefix {IDP_DIR}` first (make does it)")
        self.add()
        config = self.workdir / f"idp-{self.institution}.json"
        config.write_text(json.dumps(self._config()))
        config.chmod(0o600)  # private keys
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [node_binary(), str(IDP_DIR / "idp.mjs"), str(config)],
                stdout=log,
                stderr=log,
                cwd=IDP_DIR,
            )

    def wait_ready(self, within: float = 30.0) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the development IdP exited: see {self.log_path}")
            try:
                found = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1)
                if found.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the development IdP did not answer: see {self.log_path}")

    def rotate(self) -> None:
        """New signing keys, same issuer and port."""
        self.stop()
        self.jwks = private_jwks()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
