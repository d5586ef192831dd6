"""One institution's services on fresh local servers (or containers), for the benchmarks
that drive its APIs; everything is stopped when the block ends."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telemachus.cli.federation import DEFAULT_INSTITUTIONS, Federation
from telemachus.shared.testing.backends import Backend, start_backend


@asynccontextmanager
async def one_institution(
    identity_providers: bool = False,
) -> AsyncIterator[tuple[Federation, str, Backend]]:
    """(the running federation, the institution's id, the backend it runs on); with
    `identity_providers`, its development IdP and its portal too."""
    backend = await asyncio.to_thread(start_backend)
    print(f"backend: {backend.describe()}")
    institution = DEFAULT_INSTITUTIONS[0]
    try:
        with tempfile.TemporaryDirectory() as trust_dir:
            federation = Federation(
                backend.kafka_bootstrap_servers,
                backend.mongodb_uri,
                institutions=[institution],
                database_prefix=f"bench-{secrets.token_hex(3)}",
                trust_dir=Path(trust_dir),
                identity_providers=identity_providers,
            )
            await federation.start()
            try:
                yield federation, institution.id, backend
            finally:
                await federation.stop()
    finally:
        backend.stop()
