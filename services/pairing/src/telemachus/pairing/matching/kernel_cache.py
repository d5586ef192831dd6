"""Where numba keeps pairing's compiled kernels: a directory named by the content of the
kernel's source file, not by where that file is.

numba's own locators key the cache by the source's directory (`__pycache__` beside it, or
a hash of its absolute path under NUMBA_CACHE_DIR). So every clone, and every image layer
that moves the code, compiled the nine kernels again (25-35 s on 2 cores) although they
were the same. Keyed by content, any checkout of the same kernels loads them: under
NUMBA_CACHE_DIR when it is set (containers seed it at start), else in the user's cache
(`$XDG_CACHE_HOME/telemachus/numba`, as pip and uv keep theirs). A changed kernel file has a
new name, so nothing stale is ever loaded; numba still checks its own stamp, its version
and the CPU in every entry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numba
from numba.core import config
from numba.core.caching import CacheImpl, _CacheLocator, _SourceFileBackedLocatorMixin

MATCHING = Path(__file__).resolve().parent


def cache_root() -> Path:
    given: str = getattr(config, "CACHE_DIR", "")  # NUMBA_CACHE_DIR, read by numba's config
    if given:
        return Path(given)
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "telemachus" / "numba"


class ContentKeyedLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    def __init__(self, py_func: Any, py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        # numba's own stamp of the file: the SHA-256 of its content, read once per file.
        digest = self.get_source_stamp().hex()[:16]
        name = f"{Path(py_file).stem}-{digest}-numba{numba.__version__}"
        self._cache_path = str(cache_root() / name)

    def get_cache_path(self) -> str:
        return self._cache_path

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> ContentKeyedLocator | None:
        if Path(py_file).resolve().parent != MATCHING:
            return None  # another library's kernels: numba's own locators
        # None when the directory cannot be written: numba's own locators are tried next.
        located: ContentKeyedLocator | None = super().from_function(py_func, py_file)
        return located


def use_content_keyed_cache() -> None:
    """Put our locator first; numba picks a kernel's locator when it is decorated, so this
    runs at the top of each kernel module, before its kernels."""
    if ContentKeyedLocator not in CacheImpl._locator_classes:
        CacheImpl._locator_classes.insert(0, ContentKeyedLocator)
