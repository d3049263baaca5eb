"""The side-by-side benchmark of issue 6: run it with `scripts/bench` (see bench/README.md)."""
