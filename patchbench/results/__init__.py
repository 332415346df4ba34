"""The results of legs: metrics, comparisons, the summary."""
