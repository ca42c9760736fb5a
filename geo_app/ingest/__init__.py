"""Data coming in: boundary sources (upstream SQL dumps, vector files) and record files."""
