"""Synthetic bulk data for benchmarks: `seed_database` (Core inserts, one transaction)."""

from hub.seed.generator import BENCH_SLUG, BENCH_SUBSCRIPTIONS, SCALES, SeedSummary, seed_database

__all__ = ["BENCH_SLUG", "BENCH_SUBSCRIPTIONS", "SCALES", "SeedSummary", "seed_database"]
