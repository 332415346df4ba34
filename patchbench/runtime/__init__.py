"""Runtimes: where a leg's "image" is prepared and its benchmark runs.

Each runtime has ``prepare`` (the image stage, writes image.tag) and ``run``
(the run stage, writes run.log) with the same signatures:

* ``local`` (the default): a private git working copy per leg;
* ``docker``: containers of per-commit images through the Docker SDK;
* ``apptainer``: the same images through ``apptainer exec``.

What they share lives beside them: ``image`` (the image stage: image.tag,
agent patch vetting), ``run`` (the run stage: GPUs, servers, health, logs,
verdict), ``runlog`` (run.log's format), ``gpus`` (device ids per leg),
``processes`` (deadlines, servers that never outlive the leg), ``images``
(names, identities, which images a suite may remove) and ``containers``
(mounts, environment and token of container commands).
"""
