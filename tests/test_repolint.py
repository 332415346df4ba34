"""lint --repo's repository: a local path is read in place, a URL is mirrored once into the cache."""

from __future__ import annotations

from patchbench import gitops
from patchbench.plan.repolint import open_repo
from tests.conftest import commit_all


def test_a_url_is_mirrored_once_and_fetched_only_for_a_missing_commit(tmp_path, small_repo):
    source, (first, second) = small_repo
    url = f"file://{source}"
    cache = tmp_path / "cache"
    mirror = open_repo(url, cache, [first, second])
    assert mirror.parent == cache and mirror.name.endswith(".git")
    assert gitops.resolve_commit(mirror, second) == second
    (source / "engine.py").write_text("def step(x):\n    return 0\n")
    third = commit_all(source, "later")
    assert open_repo(url, cache, [first, second]) == mirror
    assert gitops.resolve_commit(mirror, third) is None  # nothing missing: not fetched again
    assert open_repo(url, cache, [third]) == mirror
    assert gitops.resolve_commit(mirror, third) == third


def test_a_local_repository_is_read_where_it_is(tmp_path, small_repo):
    source, commits = small_repo
    assert open_repo(str(source), tmp_path / "cache", commits) == source
    assert not (tmp_path / "cache").exists()
