"""Confinement for the local runtime: a leg's commands in bubblewrap sandboxes.

A patch's code runs whenever a leg imports the patched package (setup,
server, client), so it must not reach what other legs use. Tool: bubblewrap
(``bwrap``, Debian/Ubuntu package ``bubblewrap``), unprivileged user
namespaces, no daemon and no root needed.

One leg is one :class:`Pod`: a tiny trusted helper in a bwrap sandbox of its
own holds the pod's network namespace (only loopback) and PID namespace.
Every command of the leg runs in its own sandbox that *joins* the pod's
network namespace, so a server and its client talk over 127.0.0.1, but each
command has its own user, PID, IPC and mount namespaces: the server cannot
see the client's processes (no ``/proc/<pid>/fd/1``, no ptrace, no signals).
bwrap has no option to join a network namespace, so the command's child
process enters the pod's namespaces (``setns``, before bwrap starts) and
bwrap nests a fresh sandbox inside; the command's PID namespace is a child of
the pod's, so killing the helper kills everything in the pod, however far a
command got. The runner itself stays outside: it reaches the pod's ports with
sockets the helper creates inside the pod and hands over (``connect``).

Inside a sandbox the host file system is read-only; ``/tmp``, ``/var/tmp``,
``/run``, ``/dev/shm`` and the user's home are empty private tmpfs (sockets
in them, such as Docker's or D-Bus's, would otherwise stay connectable: a
read-only mount does not stop ``connect``), and so are a few places a root
runner's commands could otherwise read (``ALWAYS_HIDDEN``); only the
confinement's paths are writable; ``/dev`` and ``/proc`` are fresh; nothing
keeps a capability, nor can create a user namespace to gain one. When
a command's first process exits its PID namespace dies with it (setsid'd
daemons included); when the runner dies, however it dies, the helper sees
its socket close and exits, and the pod's PID namespace with every sandbox
in it dies with the helper.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import http.client
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchbench.runtime import processes
from patchbench.runtime.processes import Finished

NOBODY = 65534  # who root's commands run as inside (files of the runner appear as its own)
HOLDER_START_S = 10.0
REAP_WAIT_S = 10.0  # for a killed sandbox's processes to be gone (they never ignore SIGKILL)
PR_SET_PDEATHSIG = 1
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNS = 0x00020000
NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace
# Empty, private and writable in every sandbox, whatever the confinement says.
ALWAYS_PRIVATE = (Path("/tmp"), Path("/var/tmp"), Path("/run"), Path("/var/run"))
HOST_PROC = Path("/run/host-proc")  # where the pod keeps the host's /proc (see Pod._start_holder)
# Hidden in every sandbox: a root runner's commands are uid 0 on disk, so file permissions do not
# keep them out of these (password hashes, host keys, the Slurm and Kubernetes keys, other homes).
ALWAYS_HIDDEN = tuple(
    Path(path)
    for path in ("/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/munge", "/etc/kubernetes", "/root", "/home")
)

# Looked up once here: the child of a fork calls them before exec, where nothing should allocate.
_libc = ctypes.CDLL(None, use_errno=True)
_libc_setns = _libc.setns
_libc_prctl = _libc.prctl
SETSID = shutil.which("setsid") or "/usr/bin/setsid"  # util-linux, in every Debian and Ubuntu


class SandboxError(Exception):
    """No usable sandbox here; the message says why, in one line."""


@dataclass(frozen=True)
class Confinement:
    """What one command may reach beyond the read-only host.

    Every path is made absolute and resolved. Mounts are applied parent first
    (fewer path components first), so a deeper path wins: a working copy
    inside a hidden results folder stays reachable, a ``.git`` inside a
    writable working copy can be hidden. Paths that do not exist are skipped
    when hidden and refused otherwise.
    """

    writable: tuple[Path, ...] = ()  # read-write binds (the leg's working copy, an output folder)
    readonly: tuple[Path, ...] = ()  # read-only again inside a hidden path (an interpreter under $HOME)
    hidden: tuple[Path, ...] = ()  # replaced by an empty private tmpfs (folder) or /dev/null (file)
    devices: tuple[Path, ...] = ()  # device nodes usable inside (/dev/nvidia*); others do not exist there


def nvidia_devices(minors: Iterable[int] | None = None, dev: Path = Path("/dev")) -> tuple[Path, ...]:
    """The host's NVIDIA device nodes (empty on a machine without them).

    ``minors``: only these GPUs' ``/dev/nvidia<minor>`` (with the control
    nodes every CUDA process needs), so the leg cannot even open another
    leg's GPU; CUDA then numbers the visible ones from 0. A GPU's minor is
    "Device Minor" in ``/proc/driver/nvidia/gpus/<pci bus id>/information``,
    which is not always its CUDA or nvidia-smi index.
    """
    nodes = sorted(dev.glob("nvidia*")) + sorted((dev / "nvidia-caps").glob("*"))
    wanted = None if minors is None else {f"nvidia{minor}" for minor in minors}

    def keep(node: Path) -> bool:
        per_gpu = node.name.removeprefix("nvidia").isdigit()
        return not per_gpu or wanted is None or node.name in wanted

    return tuple(node for node in nodes if node.exists() and not node.is_dir() and keep(node))


def interpreter_paths(python: str) -> tuple[Path, ...]:
    """Where ``python`` lives and imports from, to keep readable when its home is hidden.

    A venv's ``python`` is a link into a base installation that may sit under
    ``$HOME`` (pyenv, uv): the interpreter itself says where (``-I``: without
    user site-packages or ``PYTHONPATH``).
    """
    code = "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))"
    try:
        out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # no such interpreter: its command is a missing_program
        return ()
    found = {Path(python).resolve().parent.parent, *(Path(entry).resolve() for entry in json.loads(out) if entry)}
    found = {path for path in found if path.exists()}
    return tuple(sorted(path for path in found if not any(parent in found for parent in path.parents)))


def home_dirs() -> tuple[Path, ...]:
    """The runner's home (``$HOME`` and the password database's): keys, tokens, user site-packages."""
    homes = [Path(os.path.expanduser("~"))]
    with contextlib.suppress(KeyError):
        homes.append(Path(pwd.getpwuid(os.getuid()).pw_dir))
    return tuple(dict.fromkeys(home for home in homes if home.is_absolute() and str(home) != "/"))


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small explicit environment for a sandboxed command; nothing of the runner's leaks in.

    ``HOME`` is the (hidden, empty, private) home path; ``USER`` spares tools a
    password lookup of the inner uid. Secrets belong in ``extra`` of the one
    command that needs them.
    """
    uid = _inner_uid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(next(iter(home_dirs()), "/tmp")),
        "USER": user,
        "LOGNAME": user,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONNOUSERSITE": "1",
    }
    env.update(extra or {})
    return env


# ---------------------------------------------------------------- availability


_bwrap_features: dict[str, frozenset[str]] = {}


def probe(bwrap: str | None = None) -> str | None:
    """None when a sandbox works here, else why not (one line).

    It starts a real pod and a real command in it (tens of milliseconds): what
    the kernel allows (user namespaces, AppArmor) is only known by trying.
    """
    exe = bwrap or shutil.which("bwrap")
    if not exe:
        return "bwrap is not installed (Debian/Ubuntu package: bubblewrap)"
    output, log = os.pipe()  # not a file: the probe must work where nothing is writable
    try:
        with Pod(bwrap=exe) as pod:
            finished = pod.run(["true"], env=base_env(), log=log, timeout_s=HOLDER_START_S)
        if finished.timed_out or finished.returncode != 0:
            os.close(log)
            with os.fdopen(output, "rb") as said:
                output = -1
                raise SandboxError(f"a sandboxed command failed: {_first_line(said.read().decode(errors='replace'))}")
    except (SandboxError, OSError) as exc:
        return f"{exc}{userns_hint()}"
    finally:
        for fd in (output, log):
            with contextlib.suppress(OSError):
                os.close(fd)
    return None


def userns_hint() -> str:
    """What the kernel settings say about unprivileged user namespaces ("" when nothing is off)."""
    hints = []
    settings = {
        "/proc/sys/kernel/unprivileged_userns_clone": ("0", "kernel.unprivileged_userns_clone=0"),
        "/proc/sys/user/max_user_namespaces": ("0", "user.max_user_namespaces=0"),
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": (
            "1",
            "kernel.apparmor_restrict_unprivileged_userns=1"
            " (AppArmor lets only profiled programs create user namespaces)",
        ),
    }
    for path, (off, words) in settings.items():
        with contextlib.suppress(OSError):
            if Path(path).read_text().strip() == off:
                hints.append(words)
    return f"; {'; '.join(hints)}" if hints else ""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no output"


def _features(bwrap: str) -> frozenset[str]:
    """The options this bwrap knows (``--disable-userns`` is 0.8.0+)."""
    if bwrap not in _bwrap_features:
        out = subprocess.run([bwrap, "--help"], check=False, capture_output=True, text=True).stdout
        _bwrap_features[bwrap] = frozenset(word for word in out.split() if word.startswith("--"))
    return _bwrap_features[bwrap]


# ---------------------------------------------------------------- the pod


# The pod's helper: for each byte the runner sends, a fresh TCP socket made
# inside the pod's network namespace, passed back over the socket pair. A
# socket keeps the namespace it was made in, so the runner connects to the
# pod's loopback without entering it (which an unprivileged, multithreaded
# process cannot do).
_SOCKET_MAKER = """
import socket, sys
control = socket.socket(fileno=int(sys.argv[1]))
while control.recv(1):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as made:
        socket.send_fds(control, [b"s"], [made.fileno()])
"""


class Pod:
    """One leg's sandboxes: a private loopback they share; nothing in it outlives the pod.

    ``host_network=True`` gives the commands the host's network instead (a
    setup that downloads); everything else is the same. Start the pod and its
    commands from one thread that lives as long as they do (the parent-death
    signal follows the starting thread).
    """

    def __init__(self, *, host_network: bool = False, bwrap: str | None = None) -> None:
        self.host_network = host_network
        self.bwrap = bwrap or shutil.which("bwrap") or "bwrap"
        self._holder: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._namespaces: list[tuple[int, int]] = []  # (fd, CLONE_NEW*) to enter, in order
        self._started: list[Sandboxed] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Pod:
        self._start_holder()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_holder(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        info_read, info_write = os.pipe()
        # Root needs no user namespace (and with one, bwrap nests two: the network namespace would
        # belong to an outer one that no process is in); an unprivileged runner cannot do without.
        userns = () if os.getuid() == 0 else ("--unshare-user",)
        argv = [
            self.bwrap,
            *userns,
            *(() if self.host_network else ("--unshare-net",)),
            *("--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session"),
            *("--cap-drop", "ALL"),
            # Commands start in this mount namespace (see start): the host's files and devices, and a
            # /proc of the pod's PID namespace, where bwrap finds its children by their pids. The
            # kernel lets a sandbox mount its own /proc only where some /proc is fully visible: the
            # host's, under /run (which every command's sandbox hides).
            *("--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc"),
            *("--tmpfs", "/run", "--bind", "/proc", str(HOST_PROC), "--chdir", "/"),
            *("--info-fd", str(info_write)),
            "--",
            *(sys.executable, "-I", "-S", "-c", _SOCKET_MAKER, str(theirs.fileno())),
        ]
        try:
            self._holder = subprocess.Popen(
                argv,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,  # bwrap's reason when it fails; nothing is written otherwise
                pass_fds=(info_write, theirs.fileno()),
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            os.close(info_read)
            raise SandboxError(f"cannot run {self.bwrap}: {exc.strerror}") from None
        finally:
            os.close(info_write)
            theirs.close()
        info = self._read_info(info_read)
        self._control = ours
        holder = int(info["child-pid"])
        net = os.open(f"/proc/{holder}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        mnt = os.open(f"/proc/{holder}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        pid = os.open(f"/proc/{holder}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self._namespaces = [(net, CLONE_NEWNET), (mnt, CLONE_NEWNS), (pid, CLONE_NEWPID)]
        # The pid could have been reused between bwrap's report and our open: check it is the same namespace.
        same = os.fstat(pid).st_ino == info.get("pid-namespace", os.fstat(pid).st_ino)
        if not same or self._holder.poll() is not None:
            self.close()
            raise SandboxError("the pod's namespaces vanished while it started")
        # Entering the pod's namespaces takes CAP_SYS_ADMIN in the user namespace that owns them: root
        # has it already; anyone else enters that user namespace first (theirs, so they may).
        owner = fcntl.ioctl(net, NS_GET_USERNS)
        if os.fstat(owner).st_ino == os.stat("/proc/self/ns/user").st_ino:
            os.close(owner)
        else:
            self._namespaces.insert(0, (owner, CLONE_NEWUSER))
        try:
            self.connect_socket().close()  # the helper answers: the pod is ready
        except OSError as exc:
            self.close()
            raise SandboxError(f"the pod's helper did not start: {exc}") from None

    def _read_info(self, info_read: int) -> dict[str, int]:
        """bwrap's report of the sandbox it made, or why it made none."""
        assert self._holder is not None and self._holder.stderr is not None
        with os.fdopen(info_read, "rb") as reader:
            data = reader.read()  # bwrap closes it once written (or on failure)
        try:
            return json.loads(data)
        except ValueError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._holder.wait(timeout=HOLDER_START_S)
            said = self._holder.stderr.read().decode(errors="replace") if self._holder.poll() is not None else ""
            self._kill_holder()
            raise SandboxError(f"bwrap could not create the pod: {_first_line(said)}") from None

    # -------------------------------------------------- commands

    def start(
        self, argv: Sequence[str], *, env: Mapping[str, str], log: Path | int, cwd: Path, confinement: Confinement
    ) -> Sandboxed:
        """Start ``argv`` in its own sandbox in this pod; stdout and stderr into ``log`` (a file, or a descriptor).

        ``env`` is the command's whole environment (see :func:`base_env`). It
        travels as bwrap's own environment, never on a command line that
        ``ps`` shows to other users.
        """
        if self._control is None:
            raise SandboxError("the pod is not running")
        # The child enters the pod's PID namespace for its *children* only, and bwrap may not create
        # a PID namespace from there: ``setsid --fork`` puts one process in between.
        wrapped = [SETSID, "--fork", "--wait", self.bwrap, *self.options(confinement, cwd=cwd), "--", *argv]
        namespaces = list(self._namespaces)
        with open(log, "ab", closefd=not isinstance(log, int)) as out:
            proc = subprocess.Popen(
                wrapped,
                env=dict(env),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: _enter(namespaces),
            )
        started = Sandboxed(proc)
        self._started.append(started)
        return started

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path | int,
        timeout_s: float,
        cwd: Path = Path("/"),
        confinement: Confinement = Confinement(),
        grace_s: float = 2.0,
    ) -> Finished:
        """Run to completion or deadline; everything the command started is gone when this returns."""
        began = time.monotonic()
        command = self.start(argv, env=env, log=log, cwd=cwd, confinement=confinement)
        return processes.finish(command.wait, lambda: command.stop(grace_s), timeout_s=timeout_s, began=began)

    def options(self, confinement: Confinement, *, cwd: Path) -> list[str]:
        """bwrap's options for one command (public so that they can be read and tested)."""
        uid, gid = _inner_uid(), _inner_gid()
        options = [
            *("--unshare-user", "--uid", str(uid), "--gid", str(gid)),
            *("--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session"),
            # As root bwrap would otherwise keep every capability for the command.
            *("--cap-drop", "ALL"),
        ]
        if "--disable-userns" in _features(self.bwrap):
            options.append("--disable-userns")  # no nested user namespace to regain mount rights in
        options += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
        options += _mounts(confinement)
        options += ["--chdir", str(cwd.resolve())]
        return options

    # -------------------------------------------------- the runner's way in

    def connect(self, port: int, timeout_s: float = 2.0) -> socket.socket:
        """A TCP connection from this process to ``127.0.0.1:port`` inside the pod."""
        made = self.connect_socket()
        made.settimeout(timeout_s)
        try:
            made.connect(("127.0.0.1", port))
        except OSError:
            made.close()
            raise
        return made

    def connect_socket(self) -> socket.socket:
        """A fresh, unconnected TCP socket that belongs to the pod's network namespace."""
        if self._control is None:
            raise SandboxError("the pod is not running")
        with self._lock:
            self._control.sendall(b"s")
            _, fds, _, _ = socket.recv_fds(self._control, 1, 1)
        if not fds:
            raise ConnectionError("the pod's helper is gone")
        return socket.socket(fileno=fds[0])

    def http_status(self, port: int, path: str, timeout_s: float = 2.0) -> int | None:
        """The HTTP status of ``GET path`` on the pod's port, None when nothing answers (health polls)."""
        connection = _PodConnection(self, port, timeout_s)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    # -------------------------------------------------- the end

    def close(self) -> None:
        """Kill every command of the pod that is still running, then the pod itself (and so anything left)."""
        for command in self._started:
            command.kill()
        self._started.clear()
        if self._control is not None:
            self._control.close()  # the helper's loop ends
            self._control = None
        self._kill_holder()
        for fd, _ in self._namespaces:
            os.close(fd)
        self._namespaces = []

    def _kill_holder(self) -> None:
        if self._holder is not None:
            if self._holder.stderr is not None:
                self._holder.stderr.close()
            _kill_sandbox(self._holder)
            self._holder = None


class _PodConnection(http.client.HTTPConnection):
    def __init__(self, pod: Pod, port: int, timeout_s: float) -> None:
        super().__init__("127.0.0.1", port, timeout=timeout_s)
        self._pod = pod

    def connect(self) -> None:
        self.sock = self._pod.connect(self.port, self.timeout)


@dataclass
class Sandboxed:
    """A command in its sandbox: ``proc`` waits for bwrap; its exit code is the command's (128+N for signal N)."""

    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, grace_s: float) -> int:
        """SIGTERM to the command's process group, then kill the sandbox.

        bwrap forwards no signal (a SIGTERM kills bwrap, and the command at
        once with it), so the command is signalled directly. Its group is the
        one bwrap's init leads (``--new-session``); the init itself, PID 1 of
        its namespace without a handler, ignores the SIGTERM.
        """
        if self.proc.poll() is None:
            command = self.command_pid()
            if command is not None:
                group = _pgid(command)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if group is not None and group != self.proc.pid:
                        os.killpg(group, signal.SIGTERM)
                    else:
                        os.kill(command, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=grace_s)
        return self.kill()

    def kill(self) -> int:
        """Kill the sandbox's init, and with it its PID namespace; the exit code."""
        return _kill_sandbox(self.proc)

    def command_pid(self) -> int | None:
        """The command's pid as this process sees it: the first child of the sandbox's init."""
        for init in _sandbox_inits(self.proc.pid):
            for command in _children(init):
                return command
        return None


def _kill_sandbox(bwrap: subprocess.Popen[bytes]) -> int:
    """SIGKILL a sandbox (``bwrap``: what we started, bwrap or the setsid before it) and
    return once everything in it is dead, not merely dying.

    The kernel kills a PID namespace asynchronously after its init dies; the
    init's pidfd becomes readable only once every process in it is gone.
    """
    handles = []
    for pid in (*_sandbox_inits(bwrap.pid), *_descendants(bwrap.pid)):
        with contextlib.suppress(OSError):
            handles.append(os.pidfd_open(pid))  # a handle, not a number: no pid reuse can misdirect it
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(bwrap.pid, signal.SIGKILL)
    for handle in handles:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(handle, signal.SIGKILL)
    code = bwrap.wait()
    for handle in handles:
        select.select([handle], [], [], REAP_WAIT_S)
        os.close(handle)
    return code


def _pgid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _sandbox_inits(pid: int) -> list[int]:
    """Descendants of ``pid`` that are PID 1 of their namespace: bwrap's inits."""
    inits = []
    for child in _descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            status = Path(f"/proc/{child}/status").read_text()
            nspid = next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[1:]
            if len(nspid) > 1 and nspid[-1] == "1":
                inits.append(child)
    return inits


def _children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


# ---------------------------------------------------------------- helpers


def _mounts(confinement: Confinement) -> list[str]:
    """bwrap mount options, parents before children; a later kind wins on the same path."""
    planned: list[tuple[int, int, list[str]]] = []
    for path in (*ALWAYS_PRIVATE, *ALWAYS_HIDDEN, *home_dirs(), *confinement.hidden):
        if path.is_symlink() and (path in ALWAYS_PRIVATE or path in ALWAYS_HIDDEN):
            continue  # /var/run -> /run: masked through its target
        real = path.resolve()
        if real.is_dir():
            planned.append((len(real.parts), 0, ["--tmpfs", str(real)]))
        elif real.exists():
            planned.append((len(real.parts), 0, ["--dev-bind", "/dev/null", str(real)]))  # reads as empty
    for kind, option, paths in (
        (1, "--ro-bind", confinement.readonly),
        (2, "--bind", confinement.writable),
        (3, "--dev-bind", confinement.devices),
    ):
        for path in paths:
            real = path.resolve()
            if real == HOST_PROC.parent or HOST_PROC in (real, *real.parents):
                raise ValueError(f"{option} {path}: would show the host's /proc (the pod keeps it there)")
            if not real.exists():
                raise FileNotFoundError(f"{option} {path}: no such file or directory")
            planned.append((len(real.parts), kind, [option, str(real), str(real)]))
    planned.sort(key=lambda item: (item[0], item[1]))
    return [word for _, _, words in planned for word in words]


def _inner_uid() -> int:
    return os.getuid() or NOBODY


def _inner_gid() -> int:
    return os.getgid() or NOBODY


def _setns(fd: int, nstype: int) -> None:
    if _libc_setns(fd, nstype) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _die_with_parent() -> None:
    """In the child: SIGKILL when the runner dies, however it dies. Set last: entering a
    user namespace changes credentials, which clears it. (Linux sends it when the *thread*
    that started the child ends: start pods and commands from a thread that lives as long.)"""
    _libc_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _enter(namespaces: list[tuple[int, int]]) -> None:
    """In the child, before bwrap starts: the pod's user namespace (if not root's), network,
    mount and PID namespaces, in that order."""
    for fd, nstype in namespaces:
        _setns(fd, nstype)
    _die_with_parent()
