"""Scale benchmarks of the nightly load (issue 8): ``make bench`` writes ``results.md``."""
