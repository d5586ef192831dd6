"""The pairing engines. Their numba kernels are cached by content (kernel_cache.py), set up
here because numba chooses a kernel's cache when the kernel's module is imported."""

from telemachus.pairing.matching.kernel_cache import use_content_keyed_cache

use_content_keyed_cache()
