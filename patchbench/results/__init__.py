"""The results of legs: metrics, comparisons, retries and the summary."""
