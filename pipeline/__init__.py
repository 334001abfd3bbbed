"""The trial warehouse: Dagster definitions, resources, the CLI and the code they run.

Importing this package first sets how polars' memory allocator (jemalloc) returns freed memory,
unless the environment already says (``_RJEM_MALLOC_CONF``); it takes effect only if polars
is not loaded yet, which is the case for every entry point (``trialwh``, the Dagster code
location ``pipeline.definitions``, ``benchmarks``). Why: by default jemalloc keeps freed pages
for 10 seconds, and a chunked layer frees a chunk's frames every second or two, so the
process held about 1.5 GB it no longer used at the peak of a 100,000-subject load (the ADaM
step: 4.2 GB resident). One second, with nothing kept in reserve after that, measured 3.4 GB
and was no slower; returning pages at once (0 ms) measured 2.6 GB but 40% slower.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
