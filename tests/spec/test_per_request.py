"""The save_result rule: a serving client is asked to save per-request values where its revision can."""

from __future__ import annotations

from patchbench import config
from patchbench.spec.benchspec import render
from patchbench.spec.check import tree_params
from patchbench.spec.per_request import ask
from patchbench.spec.tree import Option, OptionSet


def client(*flags: str) -> OptionSet:
    switches = {"--save-result", "--save-detailed", "--append-result"}
    return OptionSet(tuple(Option((f,), "0" if f in switches else "1") for f in ("--model", *flags)))


BASE = [["--model", "m"]]


def test_a_client_with_a_result_folder_saves_there():
    asked = ask(BASE, client("--save-result", "--result-dir"))
    assert asked == BASE + [["--save-result"], ["--result-dir", "{result_dir}"]]


def test_the_file_is_named_and_details_asked_for_where_the_client_has_the_options():
    full = client("--save-result", "--save-detailed", "--result-dir", "--result-filename", "--append-result")
    assert ask(BASE, full) == BASE + [
        ["--save-result"],
        ["--save-detailed"],
        ["--result-dir", "{result_dir}"],
        ["--result-filename", "result.json"],
    ]


def test_without_a_result_folder_the_command_is_left_alone():
    # --save-result alone would write into the client's working directory: the read-only harness.
    assert ask(BASE, client("--save-result")) == BASE
    assert ask(BASE, client()) == BASE


def test_an_abbreviation_is_not_the_option():
    # argparse would take --result-dir for --result-dir-prefix: not a folder of ours.
    assert ask(BASE, client("--save-result", "--result-dir-prefix")) == BASE


def test_the_authors_own_result_options_are_replaced():
    mine = BASE + [
        ["--save-result"],
        ["--result_dir", "/home/me/out"],
        ["--result-filename=x.json"],
        ["--append-result"],
    ]
    asked = ask(mine, client("--save-result", "--result-dir", "--result-filename", "--append-result"))
    assert asked == BASE + [["--save-result"], ["--result-dir", "{result_dir}"], ["--result-filename", "result.json"]]


def test_render_fills_the_result_folder():
    argv = ["python", "b.py", "--host", "{host}", "--port", "{port}", "--result-dir", "{result_dir}"]
    rendered = render(argv, python="/py", host="127.0.0.1", port=8123, result_dir="/r/client-results")
    assert rendered == ["/py", "b.py", "--host", "127.0.0.1", "--port", "8123", "--result-dir", "/r/client-results"]


def test_per_request_zero_asks_no_client():
    base = {"suite": "s", "repo": "r.git", "commits": "c.csv"}
    actions = [rule["action"] for rule in tree_params(config.validated(base))["rules"]]
    assert actions == ["target_cli", "serving_dataset", "save_result"]
    off = tree_params(config.validated({**base, "per_request": 0}))["rules"]
    assert [rule["action"] for rule in off] == ["target_cli", "serving_dataset"]
