"""Scale benchmarks of the nightly load (issue 8): ``make bench`` writes ``results.md``."""

import pipeline  # noqa: F401  (first: its allocator setting must precede the first import of polars)
