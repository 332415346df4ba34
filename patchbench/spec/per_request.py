"""Ask a serving client to save its per-request values, where its revision can.

vLLM's serving client prints only aggregates (means, medians, percentiles).
With ``--save-result`` it also writes a JSON file holding each request's TTFT,
inter-token latencies and lengths; since 2025-03 only with ``--save-detailed``
as well. The ``save_result`` tree rule adds these flags where the commit's
client defines them, with ``--result-dir {result_dir}``: a folder the run
stage gives the client alone (the server runs the agent's code and must not be
able to forge the file), emptied before every pass. A client without
``--result-dir`` (``--save-result`` alone, 2024-02 to 2024-03) would write
into its working directory, the read-only harness: it is left as it is.

A result folder or file name the command gave is replaced: the author's
paths do not exist here, and each pass must find its own file.
"""

from __future__ import annotations

from patchbench.spec.command import flag_name
from patchbench.spec.tree import OptionSet

RESULT_DIR = "{result_dir}"  # filled by the run stage (spec.benchspec.render)
RESULT_FILE = "result.json"
SAVE, DETAILED, DIRECTORY, FILENAME = "--save-result", "--save-detailed", "--result-dir", "--result-filename"
APPEND = "--append-result"  # a pass's folder starts empty: appending would only mix passes if it did not


def ask(items: list[list[str]], client: OptionSet) -> list[list[str]]:
    """``items`` asking ``client`` to save per-request values in ``{result_dir}``; unchanged when it cannot."""
    if not (client.has(SAVE) and client.has(DIRECTORY)):
        return items
    ours = {SAVE, DETAILED, DIRECTORY, FILENAME, APPEND}
    kept = [item for item in items if flag_name(item[0]) not in ours]
    asked = [[SAVE], *([[DETAILED]] if client.has(DETAILED) else []), [DIRECTORY, RESULT_DIR]]
    return kept + asked + ([[FILENAME, RESULT_FILE]] if client.has(FILENAME) else [])
