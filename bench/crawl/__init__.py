"""Crawler benchmarks (issue 4): extraction quality, throughput, politeness."""
