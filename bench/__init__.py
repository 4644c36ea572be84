"""`make bench`: benchmarks that measure the portal against a baseline in the same run (see docs/benchmarks.md)."""
