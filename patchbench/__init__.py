"""patchbench: fair 3-way benchmarks of performance patches for LLM inference engines."""

__version__ = "0.1.0"
