"""The docker runtime: every command of a leg runs in a container of the leg's image (Docker SDK).

``obtain`` is the image stage (pull, build or derive the leg's image),
``exec`` the run stage (server, client and offline benchmarks as containers),
``cleanup`` what a suite leaves behind (containers, idle images), ``engine``
the client and the configuration of one container.
"""

from patchbench.runtime.docker.exec import run
from patchbench.runtime.docker.obtain import prepare

__all__ = ["prepare", "run"]
