"""Agent patches from every source an agent has, merged into one patch per commit.

Agents' patches turn up in several places, each laid out its own way:

* ``diff_dir``: a directory of ``<commit>.diff`` files, named by full SHA or a prefix;
* ``trajectories``: the ISO-Bench trajectory dataset, ``<root>/<repo>/<commit>/model_patch.diff``
  with ``run_summary.json`` beside it and a ``metadata.json`` at the root, read from a
  local directory or downloaded from the Hugging Face Hub (``hf_dataset``);
* ``runs``: local agent run directories
  ``<runs>/<repo>/<agent>/<model>/<YYYY-MM-DD_HH-MM-SS>/<item_id>/``, whose item ids are
  task names (``vllm_core-0091``): the commit is known only from ``commits.human`` in the
  item's ``run_summary.json``, or in its ``journal.json`` (claude_code runs have no summary).

``kinds`` says what a source is (config and command line), ``scan`` finds the
patch candidates of each kind (``hub`` downloads a dataset first), ``choice``
merges them into one patch per commit, ``coverage`` shows the result to people.
"""
