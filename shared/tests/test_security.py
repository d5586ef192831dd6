"""Tokens and the trust registry: what a service accepts, and why it refuses the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemachus.shared.contracts.vocabulary import InstitutionKind
from telemachus.shared.errors import Unauthenticated
from telemachus.shared.security.keys import development_trust, new_ed25519, new_x25519
from telemachus.shared.security.registry import TrustRegistry
from telemachus.shared.security.tokens import (
    MAX_LIFETIME,
    Role,
    TokenIssuer,
    TokenVerifier,
    audience_of,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
REGISTRY, KEYS = development_trust(
    [("hospital", "H", InstitutionKind.HOSPITAL), ("uni", "U", InstitutionKind.UNIVERSITY)]
)


def issuer(institution: str, at: datetime = NOW) -> TokenIssuer:
    record = REGISTRY.get(institution)
    key = KEYS[institution].token_signing_key
    assert record and key
    return TokenIssuer(record.token_issuer, key, clock=lambda: at)


def verifier(
    registry: TrustRegistry = REGISTRY, at: datetime = NOW, max_lifetime: timedelta = MAX_LIFETIME
) -> TokenVerifier:
    return TokenVerifier(
        registry, audience_of("hospital"), clock=lambda: at, max_lifetime=max_lifetime
    )


def test_a_token_of_a_registered_issuer_names_its_institution_and_roles() -> None:
    token = issuer("uni").mint("ben", [Role.COORDINATOR, "astronaut"], audience_of("hospital"))
    principal = verifier().verify(token)
    assert (principal.institution, principal.subject) == ("uni", "ben")
    assert principal.roles == {Role.COORDINATOR}  # unknown roles grant nothing


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: "abc", "malformed"),
        (lambda: issuer("hospital").mint("a", [], audience_of("uni")), "Audience doesn.t match"),
        (
            lambda: issuer("hospital", NOW - timedelta(hours=9)).mint(
                "a", [], audience_of("hospital")
            ),
            "expired",
        ),
        (
            lambda: issuer("hospital", NOW + timedelta(hours=1)).mint(
                "a", [], audience_of("hospital")
            ),
            "future",
        ),
        (
            lambda: TokenIssuer("https://evil.example", new_ed25519("k")[0]).mint(
                "a", [], audience_of("hospital")
            ),
            "not in the trust registry",
        ),
        (
            # The hospital's issuer name with someone else's key under the hospital's kid.
            lambda: TokenIssuer(
                issuer("hospital").issuer,
                new_ed25519(KEYS["hospital"].token_signing_key.kid)[0],  # type: ignore[union-attr]
            ).mint("a", [], audience_of("hospital")),
            "Signature verification failed",
        ),
    ],
)
def test_refused_tokens_say_why(token: object, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        verifier().verify(token())  # type: ignore[operator]


def test_a_rotated_token_key_is_valid_during_the_overlap_only() -> None:
    old_private, old_public = new_ed25519("old")
    new_private, new_public = new_ed25519("new")
    end_of_overlap = NOW + timedelta(days=7)
    record = REGISTRY.institutions[0]
    rotated = TrustRegistry(
        institutions=[
            record.model_copy(
                update={
                    "token_keys": [
                        old_public.model_copy(update={"not_after": end_of_overlap}),
                        new_public.model_copy(update={"not_before": NOW}),
                    ]
                }
            )
        ]
    )
    for private in (old_private, new_private):
        token = TokenIssuer(record.token_issuer, private, clock=lambda: NOW).mint(
            "a", [Role.PARTICIPANT], audience_of("hospital"), lifetime=timedelta(days=30)
        )
        month = timedelta(days=30)  # a deployment that allows month-long tokens
        assert verifier(rotated, max_lifetime=month).verify(token).subject == "a"
        after = end_of_overlap + timedelta(seconds=1)
        if private is old_private:
            with pytest.raises(Unauthenticated, match="no key 'old'"):
                verifier(rotated, after, month).verify(token)
        else:
            assert verifier(rotated, after, month).verify(token).subject == "a"
        with pytest.raises(Unauthenticated, match="longer than the 12:00:00 allowed"):
            verifier(rotated).verify(token)


def test_senders_seal_to_the_newest_valid_encryption_key() -> None:
    _, old = new_x25519("old")
    _, new = new_x25519("new")
    record = REGISTRY.institutions[0].model_copy(
        update={"encryption_keys": [old, new.model_copy(update={"not_before": NOW})]}
    )
    assert record.current_encryption_key(NOW - timedelta(days=1)) == old
    assert record.current_encryption_key(NOW) is not None
    assert record.current_encryption_key(NOW).kid == "new"  # type: ignore[union-attr]


def test_the_registry_refuses_wrong_curves_and_repeated_ids() -> None:
    record = REGISTRY.institutions[0]
    with pytest.raises(ValueError, match="must be X25519"):
        record.model_validate(
            {**record.model_dump(), "encryption_keys": [new_ed25519("e")[1].model_dump()]}
        )
    with pytest.raises(ValueError, match="listed twice"):
        TrustRegistry(institutions=[record, record])
