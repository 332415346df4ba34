"""The spec stage: a commit's perf command becomes the one benchmark all its legs run."""
