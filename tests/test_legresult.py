"""How the runner's verdict and the parsed log (whole, and each measured pass) combine into a round's status."""

import json
import subprocess
import sys
from pathlib import Path

from patchbench import failures
from patchbench.results.metrics import decide
from tests.conftest import VLLM_OUTPUTS

OK = {"status": "ok", "metrics": {"mean_ttft_ms": 1.0}, "runs": [{}], "failure": None}
NOTHING = {"status": "failed", "metrics": {}, "runs": [], "failure": {"category": "no_metrics", "evidence": "x"}}


def found(category, evidence="line"):
    return {"status": "failed", "metrics": {}, "runs": [], "failure": {"category": category, "evidence": evidence}}


def test_clean_run_with_a_complete_result_in_every_pass_is_ok():
    assert decide("ok", "", OK, [OK], 1) == ("ok", None)
    assert decide("ok", "", OK, [OK, OK, OK], 3) == ("ok", None)


def test_clean_exit_without_numbers_is_never_a_silent_success():
    status, failure = decide("ok", "", NOTHING, [NOTHING], 1)
    assert status == "failed" and failure["category"] == failures.NO_METRICS
    incomplete = {"status": "incomplete", "metrics": {"completed": 3}, "runs": [{}], "failure": None}
    assert decide("ok", "", incomplete, [incomplete], 1)[1]["category"] == failures.NO_METRICS


def test_every_measured_pass_must_have_a_result_and_the_evidence_names_the_pass():
    assert decide("ok", "", OK, [OK], 2)[1] == {"category": failures.NO_METRICS, "evidence": "1 of 2 measured passes"}
    _, failure = decide("ok", "", OK, [OK, found(failures.REQUESTS_FAILED, "Failed requests: 10")], 2)
    assert failure == {"category": failures.REQUESTS_FAILED, "evidence": "pass 2 of 2: Failed requests: 10"}


def test_root_cause_in_the_log_beats_the_runners_symptom():
    status, failure = decide(
        "server_crash", "server exited with code 1", found(failures.OOM, "CUDA out of memory"), [], 1
    )
    assert (status, failure["category"]) == ("failed", failures.OOM)


def test_runner_category_stays_and_quotes_the_log():
    _, failure = decide("server_crash", "server exited with code 1", found("server_crash", "AttributeError: x"), [], 1)
    assert failure == {"category": "server_crash", "evidence": "server exited with code 1\nAttributeError: x"}


def test_timeout_stays_a_timeout():
    assert (
        decide("timeout", "stopped after 5s", found(failures.OOM, "Killed"), [], 1)[1]["category"] == failures.TIMEOUT
    )


def test_parse_metrics_cli_prints_one_json_object():
    patchbench = str(Path(sys.executable).parent / "patchbench")
    out = subprocess.run(
        [patchbench, "parse-metrics", str(VLLM_OUTPUTS / "throughput__pr8914_after.txt")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = json.loads(out)
    assert result["benchmark_type"] == "throughput" and result["status"] == "ok"
    assert result["metrics"]["requests_per_second"] == 89.27
    assert result["metrics"]["tokens_per_second"] == 22853.37
    assert result["metrics"]["output_tokens_per_second"] == 11426.69
