"""The local runtime's sandbox against a hostile agent: real bwrap, real processes.

Each attack is a small Python script. It first runs *without* the sandbox and
must succeed there (so every test can fail), then runs in a pod, which must
leave no trace. The runner's home is a fake one (``$HOME``), the venv a
throwaway one: an unsandboxed attack never touches the real ones, and an
attack that a broken sandbox lets through must still be harmless to the host
(signal 0, never SIGKILL; unique paths, removed afterwards).

Needs ``bwrap`` (package bubblewrap), util-linux (``setsid``, ``setpriv``)
and, when run as root, a system ``python3`` that user nobody can run.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from patchbench.runtime import sandbox
from patchbench.runtime.sandbox import Confinement, Pod

PY = sys.executable
REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_sEcReT0123456789abcdef"


@pytest.fixture(scope="module")
def interpreter() -> tuple[Path, ...]:
    return sandbox.interpreter_paths(PY)


@dataclass
class Leg:
    """One leg's world, laid out as the workflow lays it out (working copies inside results/)."""

    root: Path
    interpreter: tuple[Path, ...]
    home: Path = field(init=False)
    results: Path = field(init=False)
    worktree: Path = field(init=False)
    other_worktree: Path = field(init=False)
    locks: Path = field(init=False)
    checkout: Path = field(init=False)
    scripts: int = 0

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.results = self.root / "results" / "suite"
        self.worktree = self.results / "worktrees" / "c1" / "agent"
        self.other_worktree = self.results / "worktrees" / "c1" / "baseline"
        self.locks = self.results / ".gpus"
        self.checkout = self.root / "checkout"
        for folder in (self.home, self.worktree, self.other_worktree, self.locks, self.checkout):
            folder.mkdir(parents=True)
        (self.locks / "0.lock").touch()

    def confinement(self, **changes: tuple[Path, ...]) -> Confinement:
        kinds: dict[str, tuple[Path, ...]] = {
            "writable": (self.worktree,),
            "readonly": self.interpreter,
            "hidden": (self.results, self.checkout),
        }
        kinds.update(changes)
        return Confinement(**kinds)

    def script(self, code: str) -> Path:
        self.scripts += 1
        path = self.worktree / f"agent_{self.scripts}.py"
        path.write_text(textwrap.dedent(code))
        return path

    def host_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "PYTHONNOUSERSITE": "", **(extra or {})}

    def unsandboxed(self, code: str, *, env: dict[str, str] | None = None, python: str = PY) -> str:
        done = subprocess.run(
            [python, str(self.script(code))], cwd=self.worktree, env=self.host_env(env), capture_output=True, text=True
        )
        return done.stdout + done.stderr

    def sandboxed(
        self,
        pod: Pod,
        code: str,
        *,
        env: dict[str, str] | None = None,
        python: str = PY,
        confinement: Confinement | None = None,
        timeout_s: float = 30,
    ) -> tuple[sandbox.Finished, str]:
        log = self.root / f"log_{self.scripts + 1}.txt"
        finished = pod.run(
            [python, str(self.script(code))],
            env=sandbox.base_env(env),
            log=log,
            timeout_s=timeout_s,
            cwd=self.worktree,
            confinement=confinement or self.confinement(),
        )
        return finished, log.read_text()


@pytest.fixture
def leg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: tuple[Path, ...]) -> Leg:
    built = Leg(tmp_path, interpreter)
    monkeypatch.setenv("HOME", str(built.home))  # the runner's home, hidden from the sandbox
    return built


@pytest.fixture
def pod() -> Iterator[Pod]:
    with Pod() as running:
        yield running


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of live processes (zombies aside) that mention ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline}")
    return found


def wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------ availability


def test_a_usable_sandbox_exists_here():
    assert sandbox.probe() is None


def test_without_bwrap_the_reason_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert sandbox.probe() == "bwrap is not installed (Debian/Ubuntu package: bubblewrap)"
    reason = sandbox.probe("/nonexistent/bwrap")
    assert reason is not None and reason.startswith("cannot run /nonexistent/bwrap") and "\n" not in reason


def test_without_user_namespaces_the_reason_is_bwraps(tmp_path):
    """A real refusal: inside a sandbox that forbids user namespaces, the probe says why."""
    copy = _importable_copy(tmp_path)
    code = (
        f"import sys; sys.path.insert(0, {str(copy)!r}); from patchbench.runtime import sandbox; print(sandbox.probe())"
    )
    done = subprocess.run(
        ["bwrap", "--unshare-user", "--uid", "65534", "--disable-userns", "--ro-bind", "/", "/"]
        + ["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--", PY, "-c", code],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    reason = done.stdout.strip()
    assert reason.startswith("bwrap could not create the pod: bwrap: ") and "namespace" in reason
    assert "\n" not in reason


# ------------------------------------------------------------------ (a) startup hooks


def test_pth_in_the_venv_site_packages_has_no_effect(leg, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([PY, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    marker = leg.root / "pth-ran"
    attack = f"""
        import pathlib, sysconfig
        hook = pathlib.Path(sysconfig.get_path("purelib"), "zz_agent.pth")
        try:
            hook.write_text("import pathlib; pathlib.Path({str(marker)!r}).touch()\\n")
        except OSError as exc:
            print("blocked:", exc)
    """
    leg.unsandboxed(attack, python=python)  # without the sandbox the hook lands, and runs
    assert (site_packages / "zz_agent.pth").exists()
    subprocess.run([python, "-c", "pass"], check=True)
    assert marker.exists()
    (site_packages / "zz_agent.pth").unlink()
    marker.unlink()

    readonly = (*sandbox.interpreter_paths(python), *leg.interpreter)
    with Pod() as pod:
        finished, log = leg.sandboxed(pod, attack, python=python, confinement=leg.confinement(readonly=readonly))
    assert finished.returncode == 0, log
    assert "Read-only file system" in log
    assert not (site_packages / "zz_agent.pth").exists()
    subprocess.run([python, "-c", "pass"], check=True)  # a later leg's interpreter starts clean
    assert not marker.exists()


def test_sitecustomize_in_home_has_no_effect(leg, pod):
    attack = """
        import os, pathlib, site
        user_site = pathlib.Path(site.getusersitepackages())
        user_site.mkdir(parents=True, exist_ok=True)
        (user_site / "sitecustomize.py").write_text("import time; time.sleep(5)\\n")
        (user_site / "usercustomize.py").write_text("import time; time.sleep(5)\\n")
        (user_site / "zz_agent.pth").write_text("import time; time.sleep(5)\\n")
        pathlib.Path(os.environ["HOME"], ".bashrc").write_text("sleep 5\\n")
        print("planted in", user_site)
    """
    assert "planted in " + str(leg.home) in leg.unsandboxed(attack)
    planted = sorted(str(path.relative_to(leg.home)) for path in leg.home.rglob("*") if path.is_file())
    assert ".bashrc" in planted and any(name.endswith("sitecustomize.py") for name in planted)
    shutil.rmtree(leg.home)
    leg.home.mkdir()

    finished, log = leg.sandboxed(pod, attack)
    assert finished.returncode == 0, log  # it wrote, into a private tmpfs that is gone now
    assert list(leg.home.iterdir()) == []


# ------------------------------------------------------------------ (b) daemons


DAEMON = """
    import os, pathlib, time
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    time.sleep(1.0)
    pathlib.Path({target!r}).write_text("the daemon outlived its leg")
"""


def test_setsid_daemon_dies_with_its_command(leg, pod):
    target = leg.worktree / "daemon-was-here"  # writable while the leg runs: only death stops it
    attack = DAEMON.format(target=str(target))
    script_marker = str(leg.worktree)
    leg.unsandboxed(attack)
    assert wait_for(target.exists, 5), "unsandboxed, the daemon writes"
    target.unlink()

    finished, log = leg.sandboxed(pod, attack)
    assert finished.returncode == 0, log
    assert processes_mentioning(script_marker) == []
    time.sleep(2.0)
    assert not target.exists()


def test_a_servers_daemon_dies_with_the_pod(leg):
    target = leg.worktree / "daemon-was-here"
    server = leg.script(f"""
        import subprocess, sys, time
        subprocess.run([sys.executable, "-c", {textwrap.dedent(DAEMON.format(target=str(target)))!r}])
        print("daemon started", flush=True)
        time.sleep(300)
        """)
    log = leg.root / "server.log"
    with Pod() as pod:
        started = pod.start(
            [PY, str(server)], env=sandbox.base_env(), log=log, cwd=leg.worktree, confinement=leg.confinement()
        )
        assert wait_for(lambda: "daemon started" in log.read_text(), 10), log.read_text()
        assert started.poll() is None
    assert processes_mentioning(str(leg.worktree)) == []
    time.sleep(2.0)
    assert not target.exists()


RUNNER = """
import sys, time
sys.path.insert(0, {package!r})
from pathlib import Path
from patchbench.runtime import sandbox
worktree = Path({worktree!r})
confinement = sandbox.Confinement(writable=(worktree,), readonly=sandbox.interpreter_paths(sys.executable))
with sandbox.Pod() as pod:
    print("pod", flush=True)
    for role in ("server", "client"):
        pod.start([sys.executable, {daemon_script!r}, role], env=sandbox.base_env(), log=worktree / f"{{role}}.log",
                  cwd=worktree, confinement=confinement)
    print("started", flush=True)
    time.sleep(300)
"""


@pytest.mark.parametrize("who", ["runner", "nobody"])
@pytest.mark.parametrize("when", ["while commands start", "once they run"])
def test_nothing_survives_a_killed_runner(who, when, unprivileged):
    """SIGKILL to the runner (no finally runs): the pod and every sandbox in it die, daemons too.

    Killed while bwrap is still setting a command up, bwrap's own parent-death
    signal may not be armed yet; the pod's PID namespace catches that case.
    """
    worktree = unprivileged.workdir("worktree")
    daemon_script = worktree / "agent.py"
    daemon_script.write_text(
        "import sys, subprocess, time\n"
        f"subprocess.run([sys.executable, '-c', {textwrap.dedent(DAEMON.format(target=str(worktree / 'late')))!r}])\n"
        "time.sleep(300)\n"
    )
    daemon_script.chmod(0o644)
    code = RUNNER.format(package=str(unprivileged.package), worktree=str(worktree), daemon_script=str(daemon_script))
    helpers_before = set(processes_mentioning("send_fds(control"))
    runner = subprocess.Popen(unprivileged.argv(code, as_nobody=who == "nobody"), stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout is not None and runner.stdout.readline().strip() == "pod"
        if when == "once they run":
            assert runner.stdout.readline().strip() == "started"
            assert wait_for(
                lambda: len(processes_mentioning(str(daemon_script))) >= 8, 10
            )  # 2 x (setsid, bwrap, init, command)
    finally:
        runner.kill()
        runner.wait()
    assert wait_for(lambda: processes_mentioning(str(worktree)) == [], 5), processes_mentioning(str(worktree))
    # The pod's helper is gone too (it sees the runner's socket close; on a busy machine that takes a moment).
    assert wait_for(lambda: set(processes_mentioning("send_fds(control")) <= helpers_before, 5)
    time.sleep(1.5)
    assert not (worktree / "late").exists()


def test_a_deadline_stops_the_command_and_all_it_started(leg, pod):
    spawn = f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)  # {leg.worktree}"])
        time.sleep(300)
    """
    finished, _ = leg.sandboxed(pod, spawn, timeout_s=1.0)
    assert finished.timed_out and finished.returncode is None
    assert processes_mentioning(str(leg.worktree)) == []


def test_stop_is_graceful_then_forced(leg, pod):
    polite = leg.script("""
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
        print("up", flush=True)
        time.sleep(300)
        """)
    stubborn = leg.script("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("up", flush=True)
        time.sleep(300)
        """)
    codes = []
    for script in (polite, stubborn):
        log = leg.root / f"{script.stem}.log"
        command = pod.start(
            [PY, str(script)], env=sandbox.base_env(), log=log, cwd=leg.worktree, confinement=leg.confinement()
        )
        assert wait_for(lambda log=log: "up" in log.read_text(), 10)
        began = time.monotonic()
        codes.append((command.stop(grace_s=1.0), time.monotonic() - began))
    (polite_code, polite_s), (stubborn_code, stubborn_s) = codes
    assert polite_code == 7 and polite_s < 0.9  # the command's own SIGTERM handler ran
    assert stubborn_code == -signal.SIGKILL and stubborn_s >= 1.0
    assert processes_mentioning(str(leg.worktree)) == []


# ------------------------------------------------------------------ (c) writes outside the working copy


def test_writes_outside_the_working_copy_have_no_effect(leg, pod):
    host_tmp = Path("/tmp") / f"patchbench-agent-{os.getpid()}-{time.monotonic_ns()}"
    targets = {
        "results": leg.results / "report.md",
        "other leg": leg.other_worktree / "engine.py",
        "checkout": leg.checkout / "engine.py",
        "host tmp": host_tmp,
        "home": leg.home / "notes",
    }
    attack = f"""
        import pathlib
        for name, path in { ({name: str(path) for name, path in targets.items()})!r}.items():
            try:
                pathlib.Path(path).write_text("agent")
                print("wrote", name)
            except OSError as exc:
                print("blocked", name, exc)
        pathlib.Path("own-output.json").write_text("{{}}")
    """
    out = leg.unsandboxed(attack)
    try:
        for name in targets:
            assert f"wrote {name}" in out, out
    finally:
        for path in targets.values():
            path.unlink(missing_ok=True)
        (leg.worktree / "own-output.json").unlink()

    try:
        finished, log = leg.sandboxed(pod, attack)
        assert finished.returncode == 0, log
        assert [name for name, path in targets.items() if path.exists()] == []
    finally:
        host_tmp.unlink(missing_ok=True)
    assert (leg.worktree / "own-output.json").read_text() == "{}"  # its own working copy it may write


def test_the_host_is_read_only_and_unreachable_sockets_are_masked(leg, pod):
    name = f"patchbench-agent-{os.getpid()}-{time.monotonic_ns()}"  # unique, and removed should a broken sandbox let it through
    paths = [f"/etc/{name}", f"/usr/{name}", f"/{name}"]
    try:
        finished, log = leg.sandboxed(pod, _HOST_WRITES.replace("PATHS", repr(paths)))
    finally:
        for path in paths:
            Path(path).unlink(missing_ok=True)
    assert finished.returncode == 0, log
    assert "wrote" not in log and log.count("blocked") == 3
    assert "shadow: ''" in log and "root: []" in log  # uid 0 on disk for a root runner: hidden, not merely protected
    # Docker's, D-Bus's, X's sockets are not there to connect to; /tmp holds only the way to the working copy.
    way_down = leg.worktree.relative_to("/tmp").parts[0] if leg.worktree.is_relative_to("/tmp") else None
    assert f"run: [] tmp: {[way_down] if way_down else []} shm: []" in log
    assert "'null'" in log and "'sda'" not in log and "'nvme0'" not in log


_HOST_WRITES = """
import os
for path in PATHS:
    try:
        open(path, "w")
        print("wrote", path)
    except OSError as exc:
        print("blocked", path, exc.strerror)
print("shadow:", repr(open("/etc/shadow").read()), "root:", [name for name in os.listdir("/root") if name != ".pyenv"])
print("run:", os.listdir("/run"), "tmp:", os.listdir("/tmp"), "shm:", os.listdir("/dev/shm"))
print("dev:", sorted(os.listdir("/dev")))
"""


def test_mounts_deeper_paths_win(leg, pod):
    secret_file = leg.checkout / "token"
    secret_file.write_text(TOKEN)
    readable = leg.root / "shared" / "hub"
    (readable / "hidden-inside").mkdir(parents=True)
    (readable / "weights.bin").write_text("weights")
    (readable / "hidden-inside" / "x").write_text("x")
    (leg.worktree / ".git").mkdir()
    (leg.worktree / ".git" / "config").write_text("[core]")
    confinement = leg.confinement(
        readonly=(*leg.interpreter, leg.checkout, readable),
        hidden=(leg.results, secret_file, readable / "hidden-inside", leg.worktree / ".git"),
    )
    finished, log = leg.sandboxed(
        pod,
        f"""
        import os
        print("token file:", repr(open({str(secret_file)!r}).read()))
        print("weights:", open({str(readable / "weights.bin")!r}).read())
        print("inside hidden:", os.listdir({str(readable / "hidden-inside")!r}))
        print("git:", os.listdir(".git"))
        print("results:", sorted(os.listdir({str(leg.results)!r})))
        """,
        confinement=confinement,
    )
    assert finished.returncode == 0, log
    assert "token file: ''" in log and "weights: weights" in log  # a hidden file reads as empty
    assert "inside hidden: []" in log and "git: []" in log
    assert "results: ['worktrees']" in log  # only the way down to its own working copy


def test_a_missing_path_to_expose_is_refused(leg, pod):
    with pytest.raises(FileNotFoundError):
        pod.start(
            ["true"],
            env=sandbox.base_env(),
            log=leg.root / "x.log",
            cwd=leg.worktree,
            confinement=Confinement(readonly=(leg.root / "absent",)),
        )
    for exposing in (Path("/run"), sandbox.HOST_PROC):  # the pod's own view of the host's processes
        with pytest.raises(ValueError):
            pod.start(
                ["true"],
                env=sandbox.base_env(),
                log=leg.root / "x.log",
                cwd=leg.worktree,
                confinement=Confinement(readonly=(exposing,)),
            )


# ------------------------------------------------------------------ (d) the token


TOKEN_HUNT = f"""
    import os, pathlib
    found = []
    if {TOKEN!r} in "".join(os.environ.values()):
        found.append("own environment")
    for proc in pathlib.Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            for what in ("environ", "cmdline"):
                try:
                    if {TOKEN!r}.encode() in (proc / what).read_bytes():
                        found.append(f"/proc/{{proc.name}}/{{what}}")
                except OSError:
                    pass
    print("found:", found)
"""


def test_the_token_reaches_only_the_server(leg, pod):
    server_script = leg.script(
        "import os, time\nprint('has token', 'HF_TOKEN' in os.environ, flush=True)\ntime.sleep(300)\n"
    )
    # Unsandboxed, a client finds the token of a server that runs beside it.
    server = subprocess.Popen([PY, str(server_script)], env=leg.host_env({"HF_TOKEN": TOKEN}), stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline() == b"has token True\n"
        assert "environ" in leg.unsandboxed(TOKEN_HUNT, env={"HF_TOKEN": ""})
    finally:
        server.kill()
        server.wait()

    log = leg.root / "server.log"
    started = pod.start(
        [PY, str(server_script)],
        env=sandbox.base_env({"HF_TOKEN": TOKEN}),
        log=log,
        cwd=leg.worktree,
        confinement=leg.confinement(),
    )
    assert wait_for(lambda: "has token True" in log.read_text(), 10), log.read_text()
    for role in ("client", "setup"):
        finished, out = leg.sandboxed(pod, TOKEN_HUNT)
        assert finished.returncode == 0, out
        assert "found: []" in out, role
    # Never on a command line: not on bwrap's (which host users can read), nor the server's.
    for pid in (started.pid, *sandbox._children(started.pid), started.command_pid()):
        assert TOKEN.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    started.stop(1.0)


def test_the_runners_environment_does_not_leak_in(leg, pod, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TOKEN)
    finished, log = leg.sandboxed(pod, TOKEN_HUNT)
    assert finished.returncode == 0 and "found: []" in log, log


# ------------------------------------------------------------------ processes and network of a pod


SERVER = """
    import http.server, os, sys, pathlib
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"tokens/s: 42")
        def log_message(self, *args):
            pass
    print("listening", flush=True)
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_server_and_client_share_loopback_and_the_runner_polls_health(leg, pod):
    port = free_port()
    log = leg.root / "server.log"
    server = pod.start(
        [PY, str(leg.script(SERVER)), str(port)],
        env=sandbox.base_env(),
        log=log,
        cwd=leg.worktree,
        confinement=leg.confinement(),
    )
    assert wait_for(lambda: pod.http_status(port, "/health") == 200, 10), log.read_text()
    finished, out = leg.sandboxed(
        pod, f"import urllib.request\nprint(urllib.request.urlopen('http://127.0.0.1:{port}/').read().decode())\n"
    )
    assert finished.returncode == 0 and "tokens/s: 42" in out, out
    # The pod's port is not the host's: nothing outside the pod can reach the server.
    with socket.socket() as outside, pytest.raises(ConnectionRefusedError):
        outside.connect(("127.0.0.1", port))
    assert server.stop(2.0) != 0 and pod.http_status(port, "/health") is None


def test_the_pod_reaches_nothing_outside_it(leg, pod):
    with socket.socket() as host_service:
        host_service.bind(("127.0.0.1", 0))
        host_service.listen()
        port = host_service.getsockname()[1]
        attack = f"""
            import socket
            for address in (("127.0.0.1", {port}), ("1.1.1.1", 443), ("10.0.0.1", 80)):
                try:
                    socket.create_connection(address, timeout=2).close()
                    print("reached", address)
                except OSError as exc:
                    print("blocked", address, type(exc).__name__)
        """
        assert f"reached ('127.0.0.1', {port})" in leg.unsandboxed(attack)
        finished, log = leg.sandboxed(pod, attack)
    assert finished.returncode == 0, log
    assert "reached" not in log and log.count("blocked") == 3, log


def test_a_unix_socket_of_the_host_is_reachable_only_when_visible(leg, pod):
    """A read-only mount does not stop connect(): sockets are safe only in hidden folders."""
    folder = leg.root / "sockets"
    folder.mkdir()
    with socket.socket(socket.AF_UNIX) as service:
        service.bind(str(folder / "daemon.sock"))
        service.listen()
        attack = f"""
            import socket
            try:
                socket.socket(socket.AF_UNIX).connect({str(folder / "daemon.sock")!r})
                print("reached")
            except OSError as exc:
                print("blocked", exc)
        """
        visible, log_visible = leg.sandboxed(
            pod, attack, confinement=leg.confinement(readonly=(*leg.interpreter, folder))
        )
        hidden, log_hidden = leg.sandboxed(pod, attack, confinement=leg.confinement(hidden=(folder,)))
    assert "reached" in log_visible
    assert "blocked" in log_hidden


def test_the_server_cannot_see_the_client(leg, pod):
    client_log = leg.root / "client.log"
    client = pod.start(
        [PY, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(300)"],
        env=sandbox.base_env(),
        log=client_log,
        cwd=leg.worktree,
        confinement=leg.confinement(),
    )
    assert wait_for(lambda: client_log.read_text().strip() != "", 10)
    client_pid_outside = client.command_pid()
    # Signal 0 only asks whether a signal could be sent: a broken sandbox must not hurt the host.
    attack = """
        import os
        me = os.getpid()
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (me, 1)]
        signalable = []
        for pid in others:
            try:
                os.kill(pid, 0)
                signalable.append(pid)
            except OSError:
                pass
        print("pid", me, "others", others, "signalable", signalable)
    """
    finished, log = leg.sandboxed(pod, attack)
    assert finished.returncode == 0, log
    assert "pid 2 others [] signalable []" in log  # bwrap's init is 1, the command 2: nothing else exists for it
    assert client.poll() is None and client.command_pid() == client_pid_outside
    client.stop(1.0)
    # Unsandboxed, the same script could signal every process of its user, this test's own included.
    unconfined = leg.unsandboxed(attack)
    assert str(os.getpid()) in unconfined.split("signalable")[1], unconfined


def test_no_capabilities_and_no_way_back_to_them(leg, pod):
    finished, log = leg.sandboxed(
        pod,
        """
        import os, subprocess
        status = open("/proc/self/status").read()
        print([line for line in status.splitlines() if line.startswith("CapEff")])
        for argv in (["mount", "-o", "remount,rw", "/"], ["mount", "-o", "remount,bind,rw", "/usr"], ["unshare", "-Ur", "true"]):
            print(argv[0], "rc", subprocess.run(argv, capture_output=True).returncode)
        try:
            open("/proc/sysrq-trigger", "w")
            print("sysrq writable")
        except OSError as exc:
            print("sysrq blocked")
        """,
    )
    assert finished.returncode == 0, log
    assert "['CapEff:\\t0000000000000000']" in log
    assert "rc 0" not in log and "sysrq blocked" in log


# ------------------------------------------------------------------ (f) slowing other legs down


HOLD_LOCK = """
    import fcntl, os, sys, time
    try:
        fd = os.open(sys.argv[1], os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("holding", flush=True)
    except OSError as exc:
        print("blocked", exc, flush=True)
    time.sleep(300)
"""


def _can_lock(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_gpu_locks_of_other_legs_cannot_be_held(leg, pod):
    lock = leg.locks / "0.lock"
    script = leg.script(HOLD_LOCK)
    holder = subprocess.Popen([PY, str(script), str(lock)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        assert not _can_lock(lock)  # unsandboxed, an agent stalls every leg that needs GPU 0
    finally:
        holder.kill()
        holder.wait()

    log = leg.root / "lock.log"
    started = pod.start(
        [PY, str(script), str(lock)], env=sandbox.base_env(), log=log, cwd=leg.worktree, confinement=leg.confinement()
    )
    assert wait_for(lambda: log.read_text() != "", 10)
    assert "blocked" in log.read_text() and _can_lock(lock)
    started.stop(1.0)


def test_read_only_is_not_enough_for_lock_files(leg, pod):
    """Why the results folder (GPU locks) is hidden, not merely read-only: flock needs no write access."""
    lock = leg.locks / "0.lock"
    log = leg.root / "lock.log"
    confinement = leg.confinement(readonly=(*leg.interpreter, leg.locks))
    started = pod.start(
        [PY, str(leg.script(HOLD_LOCK)), str(lock)],
        env=sandbox.base_env(),
        log=log,
        cwd=leg.worktree,
        confinement=confinement,
    )
    assert wait_for(lambda: log.read_text() != "", 10)
    assert "holding" in log.read_text() and not _can_lock(lock)
    started.stop(1.0)
    assert _can_lock(lock)


def test_shared_files_cannot_be_changed_to_slow_other_legs(leg, pod, tmp_path):
    shared = tmp_path / "hf-hub"  # the model cache every leg reads
    shared.mkdir()
    (shared / "config.json").write_text('{"num_hidden_layers": 32}')
    attack = f"""
        import os, pathlib
        config = pathlib.Path({str(shared / "config.json")!r})
        for action, do in (
            ("rewrite", lambda: config.write_text('{{"num_hidden_layers": 320}}')),
            ("replace", lambda: os.replace(config, config.with_suffix(".bak"))),
            ("add", lambda: (config.parent / "extra.bin").write_bytes(b"0" * 1024)),
            ("chmod", lambda: os.chmod(config, 0)),
        ):
            try:
                do()
                print("did", action)
            except OSError as exc:
                print("blocked", action, exc.strerror)
    """
    finished, log = leg.sandboxed(pod, attack, confinement=leg.confinement(readonly=(*leg.interpreter, shared)))
    assert finished.returncode == 0, log
    assert "did" not in log and log.count("blocked") == 4, log
    assert (shared / "config.json").read_text() == '{"num_hidden_layers": 32}' and sorted(os.listdir(shared)) == [
        "config.json"
    ]
    assert "did rewrite" in leg.unsandboxed(attack)  # the same attack works without the sandbox


# ------------------------------------------------------------------ devices, runner's side, cost


def test_device_nodes_exist_only_when_given(leg, pod):
    node = next(
        Path(path) for path in ("/dev/fuse", "/dev/loop-control", "/dev/kmsg", "/dev/net/tun") if Path(path).exists()
    )
    code = f"import os; print('exists', os.path.exists({str(node)!r}))"
    _, without = leg.sandboxed(pod, code)
    _, given = leg.sandboxed(pod, code, confinement=leg.confinement(devices=(node,)))
    assert "exists False" in without and "exists True" in given
    assert all(str(path).startswith("/dev/nvidia") for path in sandbox.nvidia_devices())


def test_only_the_legs_gpus_are_given(tmp_path):
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    for name in (
        "nvidia0",
        "nvidia1",
        "nvidia2",
        "nvidiactl",
        "nvidia-uvm",
        "nvidia-uvm-tools",
        "nvidia-caps/nvidia-cap1",
        "null",
    ):
        (dev / name).touch()
    names = lambda nodes: sorted(str(node.relative_to(dev)) for node in nodes)  # noqa: E731
    control = ["nvidia-caps/nvidia-cap1", "nvidia-uvm", "nvidia-uvm-tools", "nvidiactl"]
    assert names(sandbox.nvidia_devices([1], dev=dev)) == sorted(control + ["nvidia1"])
    assert names(sandbox.nvidia_devices(dev=dev)) == sorted(control + ["nvidia0", "nvidia1", "nvidia2"])


def test_host_network_pod_has_no_private_loopback(leg):
    with socket.socket() as host_service:
        host_service.bind(("127.0.0.1", 0))
        host_service.listen()
        port = host_service.getsockname()[1]
        with Pod(host_network=True) as pod:
            finished, log = leg.sandboxed(
                pod,
                f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\nprint('reached')\n",
            )
            pod.connect(port).close()  # the pod's network is the host's
    assert finished.returncode == 0 and "reached" in log, log


def test_overhead_is_small_next_to_a_benchmark(leg):
    def timed(run) -> float:
        began = time.monotonic()
        run()
        return time.monotonic() - began

    bare = min(timed(lambda: subprocess.run(["true"], check=True)) for _ in range(5))
    with Pod() as pod:
        confined = min(
            timed(
                lambda: pod.run(
                    ["true"],
                    env=sandbox.base_env(),
                    log=leg.root / "t.log",
                    timeout_s=10,
                    confinement=leg.confinement(),
                )
            )
            for _ in range(5)
        )
    whole_pod = min(timed(lambda: Pod().__enter__().close()) for _ in range(3))
    print(f"true: {bare * 1e3:.1f} ms bare, {confined * 1e3:.1f} ms sandboxed, a pod {whole_pod * 1e3:.1f} ms")
    assert confined < 1.0 and whole_pod < 2.0


# ------------------------------------------------------------------ unprivileged runners


UNPRIVILEGED = """
import os, socket, sys, time
sys.path.insert(0, {package!r})
from pathlib import Path
from patchbench.runtime import sandbox
work = Path({work!r})
print("uid", os.getuid(), "probe", sandbox.probe())
confinement = sandbox.Confinement(writable=(work,), readonly=sandbox.interpreter_paths(sys.executable))
port = {port}
with sandbox.Pod() as pod:
    server = pod.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], env=sandbox.base_env(),
                       log=work / "server.log", cwd=work, confinement=confinement)
    deadline = time.monotonic() + 10
    while pod.http_status(port, "/") != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    print("health", pod.http_status(port, "/"))
    client = pod.run([sys.executable, "-c", "import urllib.request; print(len(urllib.request.urlopen('http://127.0.0.1:{port}/').read()) > 0)"],
                     env=sandbox.base_env(), log=work / "client.log", timeout_s=10, cwd=work, confinement=confinement)
    print("client", client.returncode, (work / "client.log").read_text().strip())
    attack = pod.run([sys.executable, "-c", "open({outside!r}, 'w')"], env=sandbox.base_env(), log=work / "attack.log",
                     timeout_s=10, cwd=work, confinement=confinement)
    print("attack", attack.returncode)
    daemon = pod.run([sys.executable, "-c", {daemon!r}], env=sandbox.base_env(), log=work / "daemon.log", timeout_s=10,
                     cwd=work, confinement=confinement)
    print("server stopped", server.stop(2.0))
time.sleep(1.5)
print("daemon wrote", (work / "late").exists())
"""


def _importable_copy(folder: Path) -> Path:
    """The package's stdlib-only modules, where any user can import them."""
    copy = Path(tempfile.mkdtemp(prefix="patchbench-sandbox-", dir=folder))
    for relative in (
        "patchbench/__init__.py",
        "patchbench/runtime/processes.py",
        "patchbench/runtime/__init__.py",
        "patchbench/runtime/sandbox.py",
    ):
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, copy / relative)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


@dataclass
class Unprivileged:
    """A folder every user can read, with the package in it; runners as this user or (as root) as nobody."""

    root: Path
    package: Path

    def workdir(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        if os.getuid() == 0:
            os.chown(folder, NOBODY, NOBODY)
        return folder

    def argv(self, code: str, *, as_nobody: bool) -> list[str]:
        if not as_nobody or os.getuid() != 0:
            return [PY, "-c", code]  # a runner that is not root is unprivileged already
        python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or PY  # root's may sit under /root
        return ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", python, "-c", code]


NOBODY = 65534


@pytest.fixture
def unprivileged(tmp_path: Path) -> Iterator[Unprivileged]:
    # pytest's tmp_path is private to its user; /var/tmp is not.
    root = Path(tempfile.mkdtemp(prefix="patchbench-unprivileged-", dir="/var/tmp" if os.getuid() == 0 else tmp_path))
    try:
        root.chmod(0o755)
        yield Unprivileged(root, _importable_copy(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_an_unprivileged_runner_gets_the_same_sandbox(unprivileged):
    """As root this runs as nobody (with the system's Python)."""
    work = unprivileged.workdir("work")
    outside = unprivileged.root / "outside"
    code = UNPRIVILEGED.format(
        package=str(unprivileged.package),
        work=str(work),
        port=free_port(),
        outside=str(outside),
        daemon=textwrap.dedent(DAEMON.format(target=str(work / "late"))),
    )
    done = subprocess.run(unprivileged.argv(code, as_nobody=True), capture_output=True, text=True, timeout=120, cwd="/")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "probe None" in out and "health 200" in out and "client 0 True" in out, out
    assert not outside.exists(), out
    assert "daemon wrote False" in out, out
    if os.getuid() == 0:
        assert f"uid {NOBODY}" in out
