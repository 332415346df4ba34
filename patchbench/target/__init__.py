"""The target repository: cloned once, the demo's built in, each commit's revisions resolved once."""
