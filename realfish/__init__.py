"""realfish: a Batfish-compatible analysis backend whose answers come from real FRR daemons."""

__version__ = "0.1.0"
