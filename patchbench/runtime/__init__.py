"""Runtimes: where a leg's "image" is prepared and its benchmark runs.

The local runtime (the default) uses a private git working copy per leg.
"""
