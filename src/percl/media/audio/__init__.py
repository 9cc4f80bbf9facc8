"""Audio as numpy arrays: 8 kHz 16-bit mono PCM in 20 ms frames (pure functions, no I/O)."""
