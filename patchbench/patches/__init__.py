"""Patches: what each leg's patch.diff is, and how an untrusted one is vetted and applied."""
