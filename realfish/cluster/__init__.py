"""Partitions of one network on a Ray cluster, under one virtual clock (docs/cluster.md)."""
