"""Small vLLM-shaped trees written for the tests: a dict of path -> source is a revision."""

from __future__ import annotations

import textwrap

from patchbench.spec.tree import Option, Read, TreeFacts, read_tree


def reader(files: dict[str, str]) -> Read:
    """A revision holding exactly ``files`` (sources are dedented)."""
    sources = {path: textwrap.dedent(text).encode() for path, text in files.items()}
    return sources.get


def tree(files: dict[str, str]) -> TreeFacts:
    return read_tree(reader(files))


def flags(options: tuple[Option, ...]) -> dict[str, str]:
    """Every spelling -> its arity, for compact expectations."""
    return {flag: option.arity for option in options for flag in option.flags}


# A FlexibleArgumentParser as vLLM's own (2024-06-20 on) behaves: --a_b is read as --a-b.
FLEXIBLE_UTILS = """
    import argparse


    class FlexibleArgumentParser(argparse.ArgumentParser):
        def parse_args(self, args=None, namespace=None):
            processed = []
            for arg in args:
                if arg.startswith("--"):
                    processed.append("--" + arg[2:].replace("_", "-"))
                else:
                    processed.append(arg)
            return super().parse_args(processed, namespace)
"""
