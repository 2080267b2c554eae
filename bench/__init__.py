"""Benchmarks: each ``bench/<name>.py`` prints one JSON line last (design brief section 7)."""
