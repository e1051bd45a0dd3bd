"""Latency backends: a registry of runtimes, export, parity, and timed measurement."""
