"""Shared layer of audio-repro: audio I/O, features, metrics, training, complexity,
published-number registry, run bookkeeping and report rendering."""
