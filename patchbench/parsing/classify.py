"""Why a run produced no (usable) numbers, from its log alone.

Lines that may say so are rare, so the scanner first checks a whole batch for
a few cheap substrings (``TRIGGERS``) and only then looks at single lines.
Each decisive line becomes a *signal*; when the log holds several, the one
closest to the root cause wins (``PRECEDENCE``): an OOM that killed the engine
is ``oom`` although the server then also "crashed", an ImportError is
``env_error`` whichever process raised it, a deprecation stub is
``deprecated_script`` even though its usage text looks like bad arguments.

A Python traceback is followed to its exception line. Which process raised it
comes from the runner's section markers when present; otherwise from vLLM's
process tags (``(APIServer pid=…)``, ``(EngineCore_DP0 pid=…)``), its logger
prefix, and the files in the stack.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from patchbench import failures
from patchbench.parsing.lines import log_level, strip_ansi, strip_log_prefix
from patchbench.runtime.runlog import BENCHMARK_SECTION, MARK, SERVER_SECTION

EVIDENCE_LINES = 5
EVIDENCE_CHARS = 300
_MAX_TRACEBACK_LINES = 2000

# Every line that shows a signature below contains one of these: messages
# without one ("Cannot connect to host", "undefined symbol") come inside an
# exception line ("…Error: …"), which has "rror".
TRIGGERS = (
    "rror",
    "Traceback",
    "memory",
    "failed",
    "DEPRECATED",
    "Killed",
    "bad_alloc",
    "not found",
    "can't open file",
)
_TRACEBACK = "Traceback (most recent call last)"

# Signals, most root-cause first, and the category each one means.
PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("deprecated_stub", failures.DEPRECATED_SCRIPT),
    ("broken_environment", failures.ENV_ERROR),
    ("rejected_arguments", failures.BAD_ARGUMENTS),
    ("out_of_memory", failures.OOM),
    ("engine_died", failures.SERVER_CRASH),
    ("server_never_ready", failures.SERVER_START_TIMEOUT),
    ("requests_failed", failures.REQUESTS_FAILED),
    ("server_traceback", failures.SERVER_CRASH),
    ("benchmark_traceback", failures.BENCHMARK_CRASH),
    ("process_killed", failures.OOM),
)
_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (signal, re.compile(pattern))
    for signal, pattern in (
        ("deprecated_stub", r"DEPRECATED: This script has been moved"),
        (
            "broken_environment",
            r"\b(?:ModuleNotFoundError|ImportError)\b|cannot import name |undefined symbol: "
            r"|cannot open shared object file"
            r"|: command not found|can't open file",
        ),
        (
            "rejected_arguments",
            r"error: (?:unrecognized arguments|ambiguous option|argument "
            r"|the following arguments are required|invalid choice)"
            r"|must have chat template for sonnet dataset",
        ),
        (
            "out_of_memory",
            r"(?:CUDA|HIP) out of memory|OutOfMemoryError|CUDA error: out of memory"
            r"|less than desired GPU memory utilization"
            r"|No available memory for the cache blocks|larger than the available KV cache memory"
            r"|can be stored in KV cache"
            r"|\bMemoryError\b|std::bad_alloc|Out of memory: Killed process",
        ),
        (
            "engine_died",
            r"Engine core initialization failed|EngineCore failed to start|Engine process failed to start"
            r"|EngineDeadError|ClientConnectorError|Cannot connect to host",
        ),
        ("server_never_ready", r"Endpoint readiness timed out"),
        ("requests_failed", r"All requests failed|Initial test run failed|^Error 0: "),
        ("process_killed", r"(?:^|\d\s+)Killed(?:\s|$)"),
    )
)
# Log levels whose lines report, but are not, failures.
_HARMLESS_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "WARN"})
# "RuntimeError: …", "torch.OutOfMemoryError: …", "KeyboardInterrupt" (not "INFO: …").
_EXCEPTION_LINE = re.compile(r"((?:[A-Za-z_]\w*\.)*[A-Z]\w*[a-z]\w*)(?::\s|:?$)")
# Exceptions raised by shutting processes down, not by a failure.
_SHUTDOWN = frozenset({"KeyboardInterrupt", "CancelledError", "SystemExit"})
_FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]+")
_FRAME_FILE = re.compile(r'\s*File "([^"]*)"')
_SERVER_FILES = (
    "vllm/entrypoints/openai/",
    "vllm/entrypoints/api_server.py",
    "vllm/entrypoints/cli/serve.py",
    "vllm/engine/",
    "vllm/v1/engine/",
    "vllm/worker/",
    "vllm/v1/worker/",
    "vllm/executor/",
    "vllm/v1/executor/",
    "uvicorn/",
)
SERVER = "server"
BENCHMARK = "benchmark"
_SECTIONS = {SERVER_SECTION: SERVER, BENCHMARK_SECTION: BENCHMARK}


def quote(line: str) -> str:
    """A log line as evidence: colours and surrounding blanks removed, length capped."""
    return strip_ansi(line).strip()[:EVIDENCE_CHARS]


def message(line: str) -> str:
    """What a line says: colours, process tag and logger prefix removed."""
    return strip_log_prefix(strip_ansi(line).strip()).strip()


def has_trigger(text: str) -> bool:
    """Whether ``text`` may hold a failure signal or a traceback."""
    return any(trigger in text for trigger in TRIGGERS)


def signature(line: str) -> str | None:
    """The most root-cause signal a single line shows, or None."""
    for signal, pattern in _SIGNATURES:
        if pattern.search(line):
            return signal
    return None


@dataclass
class _Traceback:
    """A traceback being read: its line prefix and what its stack says about its origin."""

    prefix: str
    tagged: bool  # printed through vLLM's logger or a process tag: a server-side process
    server_frames: bool = False
    benchmark_frames: bool = False
    source: str = ""  # the last source line shown, e.g. "assert args.input_len is not None"
    length: int = 0

    def body(self, line: str) -> str:
        return line[len(self.prefix) :] if line.startswith(self.prefix) else strip_log_prefix(line)


@dataclass
class FailureTracker:
    """Collects failure signals, the section and the last lines of a streamed log.

    ``signals`` maps a signal to its first few evidence lines, each with its
    order of appearance so evidence of one category can be quoted in log order.
    """

    signals: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=EVIDENCE_LINES))
    _seen: int = 0
    _section: str | None = None
    _traceback: _Traceback | None = None

    @property
    def in_traceback(self) -> bool:
        return self._traceback is not None

    def marker(self, line: str) -> None:
        """A runner annotation: section markers say which process the next lines came from."""
        section = _SECTIONS.get(line.rstrip())
        if section is not None:
            self._section, self._traceback = section, None

    def line(self, line: str) -> None:
        """Look at one line of a batch that may hold a signal."""
        if line.startswith(MARK):
            return
        if self._traceback is not None:
            self._traceback_line(line)
        elif has_trigger(line):
            start = line.find(_TRACEBACK)
            if start >= 0:
                self._start_traceback(line[:start])
            elif log_level(line) not in _HARMLESS_LEVELS:
                self._note(signature(message(line)), line)

    def remember_tail(self, lines: list[str]) -> None:
        """Keep the last non-empty lines of the log (the evidence of last resort)."""
        recent: list[str] = []
        for line in reversed(lines):
            if line.strip() and not line.startswith(MARK):
                recent.append(quote(line))
                if len(recent) == EVIDENCE_LINES:
                    break
        self.tail.extend(reversed(recent))

    def failure(self) -> dict[str, str] | None:
        """The root-cause failure among the signals seen, or None."""
        for signal, category in PRECEDENCE:
            if signal in self.signals:
                return failures.Failure(category, "\n".join(self.evidence(category))).as_dict()
        return None

    def evidence(self, category: str) -> list[str]:
        """The first lines, in log order, of every signal that means ``category``."""
        found = sorted(
            entry for signal, meaning in PRECEDENCE if meaning == category for entry in self.signals.get(signal, ())
        )
        return list(dict.fromkeys(text for _, text in found))[:EVIDENCE_LINES]

    def _note(self, signal: str | None, line: str) -> None:
        if signal is None:
            return
        evidence = self.signals.setdefault(signal, [])
        text = quote(line)
        if len(evidence) < EVIDENCE_LINES and all(text != known for _, known in evidence):
            self._seen += 1
            evidence.append((self._seen, text))

    def _start_traceback(self, prefix: str) -> None:
        level = log_level(prefix)
        if level in _HARMLESS_LEVELS:
            return
        self._traceback = _Traceback(prefix, tagged=bool(level) or prefix.lstrip().startswith("("))

    def _traceback_line(self, line: str) -> None:
        trace = self._traceback
        assert trace is not None
        trace.length += 1
        body = trace.body(line)
        if trace.length > _MAX_TRACEBACK_LINES or body.startswith("Traceback"):
            self._traceback = None
            if body.startswith("Traceback"):  # a chained or interleaved one starts
                self._start_traceback(line[: line.find("Traceback")])
            return
        if not body.strip() or body[0] in " \t":
            self._frame_line(trace, body)
            return
        match = _EXCEPTION_LINE.match(body)
        if match is None:
            # Another process's line printed in the middle of this traceback.
            if has_trigger(line) and log_level(line) not in _HARMLESS_LEVELS:
                self._note(signature(message(line)), line)
            return
        self._traceback = None
        self._note(self._exception_signal(trace, match[1], body), line)

    def _frame_line(self, trace: _Traceback, body: str) -> None:
        frame = _FRAME_FILE.match(body)
        if frame is None:
            if body.strip():
                trace.source = body.strip()
            return
        path = frame[1]
        trace.benchmark_frames = trace.benchmark_frames or "benchmark" in path
        trace.server_frames = trace.server_frames or any(part in path for part in _SERVER_FILES)

    def _exception_signal(self, trace: _Traceback, name: str, body: str) -> str | None:
        found = signature(body)
        if found is not None:
            return found
        if name.rsplit(".", 1)[-1] in _SHUTDOWN:
            return None
        origin = self._origin(trace)
        if origin == BENCHMARK and (_FLAG.search(body) or (name == "AssertionError" and "args." in trace.source)):
            # The client rejected how it was called: "Either --input-len or ... must be
            # provided", or a bare "assert args.input_len is not None" (throughput < 2025-03).
            return "rejected_arguments"
        return "server_traceback" if origin == SERVER else "benchmark_traceback"

    def _origin(self, trace: _Traceback) -> str:
        if self._section is not None:
            return self._section
        if trace.tagged or (trace.server_frames and not trace.benchmark_frames):
            return SERVER
        return BENCHMARK
