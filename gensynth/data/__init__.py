"""Defect data: synthetic NEU-like generation, real-format loaders, splits and caching."""
