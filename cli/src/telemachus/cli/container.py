"""A container's entry: seed numba's cache from the image, then run `telemachus service`.

The image compiles pairing's matching kernels at build time (`telemachus kernels`) into
KERNEL_CACHE_SEED. numba only uses a cache directory it can write to, and a pod with a
read-only root filesystem can write only to its own volumes (NUMBA_CACHE_DIR, an
emptyDir): without the seed, every start compiled for half a minute. Copying the seed
takes milliseconds. This module imports nothing heavy: numba must not load before the copy.
"""

from __future__ import annotations

import os
import shutil
import sys

SEED = "TELEMACHUS_KERNEL_CACHE_SEED"


def seed_kernel_cache(environ: dict[str, str]) -> bool:
    """Copy the image's compiled kernels where numba will look; whether it copied."""
    seed, cache = environ.get(SEED), environ.get("NUMBA_CACHE_DIR")
    if not seed or not cache or not os.path.isdir(seed) or os.path.abspath(seed) == cache:
        return False
    if os.path.isdir(cache) and os.listdir(cache):
        return False  # a restart of the same pod: its cache is there already
    shutil.copytree(seed, cache, dirs_exist_ok=True)
    return True


def main() -> None:
    seed_kernel_cache(dict(os.environ))
    os.execvp("telemachus", ["telemachus", "service", *sys.argv[1:]])


if __name__ == "__main__":
    main()
