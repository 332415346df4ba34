"""What an agent's patch source is: its kind and keys, from a suite config or the command line."""

from __future__ import annotations

from typing import Any

_KEYS = {
    "diff_dir": ({"path"}, set()),
    "trajectories": ({"path", "hf_dataset"}, {"repo"}),
    "runs": ({"path"}, {"repo", "agent", "model"}),
}


KINDS = tuple(_KEYS)


class SourceError(ValueError):
    """A source that cannot be used at all (bad config, dataset not obtainable)."""


def agent_sources(agent: dict[str, Any]) -> list[dict[str, Any]]:
    """An agent's sources in precedence order; the older ``patches: DIR`` key is one ``diff_dir``."""
    sources = list(agent.get("sources") or [])
    if agent.get("patches"):
        sources.insert(0, {"kind": "diff_dir", "path": agent["patches"]})
    return sources


def config_agents(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Agent name -> sources, from a suite config's ``agents: [{name, sources | patches}]``.

    Two agents of one name would silently become one (the second's patches
    lost): that is a config error.
    """
    agents: dict[str, list[dict[str, Any]]] = {}
    for agent in config.get("agents") or []:
        if agent["name"] in agents:
            raise SourceError(f"agent {agent['name']!r} is configured twice; give each agent its own name")
        agents[agent["name"]] = agent_sources(agent)
    return agents


def parse_source_arg(text: str) -> dict[str, Any]:
    """The command line's short form of a source.

    ``diff_dir:PATH``, ``trajectories:PATH[:REPO]``, ``runs:PATH[:REPO[:AGENT[:MODEL]]]``.
    """
    kind, _, rest = text.partition(":")
    if kind not in KINDS or not rest:
        raise SourceError(
            f"{text!r}: expected diff_dir:PATH, trajectories:PATH[:REPO] or runs:PATH[:REPO[:AGENT[:MODEL]]]"
        )
    if kind == "diff_dir":
        return {"kind": kind, "path": rest}
    names = ("path", "repo") if kind == "trajectories" else ("path", "repo", "agent", "model")
    parts = rest.split(":")
    if len(parts) > len(names):
        raise SourceError(f"{text!r}: too many ':' parts for a {kind} source")
    return {"kind": kind, **{name: part for name, part in zip(names, parts) if part}}


def source_label(source: dict[str, Any]) -> str:
    """The short name a source goes by in coverage and provenance, e.g. ``diff_dir:demo/agents/alpha``."""
    kind = checked_kind(source)
    if kind == "trajectories":
        return f"trajectories:{source.get('hf_dataset') or source['path']}"
    picks = " ".join(f"{key}={source[key]}" for key in ("repo", "agent", "model") if source.get(key))
    return f"{kind}:{source['path']}" + (f" ({picks})" if picks else "")


def checked_kind(source: dict[str, Any]) -> str:
    """The source's kind, after checking it has the keys it needs and no unknown (mistyped) ones."""
    kind = source.get("kind")
    if kind not in _KEYS:
        raise SourceError(f"source {source!r}: kind must be one of {', '.join(KINDS)}")
    needs_one_of, optional = _KEYS[kind]
    if not any(source.get(key) for key in needs_one_of):
        raise SourceError(f"{kind} source {source!r} needs {' or '.join(sorted(needs_one_of))}")
    unknown = set(source) - needs_one_of - optional - {"kind"}
    if unknown:
        raise SourceError(f"{kind} source {source!r}: unknown keys {', '.join(sorted(unknown))}")
    return kind
