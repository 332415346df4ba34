"""Result blocks from JSON: serving --save-result / --append-result, latency and throughput --output-json.

A serving result file can be tens of megabytes on one line (per-request
``ttfts``, ``itls``, ``generated_texts``), and before 2025-03 its summary keys
(``mean_ttft_ms`` …) come *after* those arrays. So instead of ``json.loads``
(which would build every array) a small incremental scanner walks the object's
tokens, skips arrays and anything nested deeper than two levels, and keeps only
scalars: a truncated object still yields the scalars before the cut, and memory
stays at the scanner's few variables plus the kept scalars.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchbench.parsing.blocks import Block
from patchbench.parsing.labels import (
    is_request_latency_stat,
    latency_json_key,
    parse_number,
    serving_json_key,
    throughput_json_key,
)

# A JSON string (escapes included), a bracket, or a run of anything else.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]|[^"{}\[\]]+')
# What a line inside a pretty-printed object starts with; a server log line does not.
_CONTINUATION = re.compile(r'\s*(?:["{}\[\],\d-]|(?:true|false|null|NaN|-?Infinity)\b|$)')
_SKIP = object()  # a container whose contents are not kept: any array, deep objects
_MAX_SCALARS = 2048
_MAX_SCALAR_CHARS = 64  # longer values (texts, errors) are never numbers
# Past this much text the object is treated as cut short.
MAX_OBJECT_CHARS = 32 * 1024 * 1024
_KEY, _COLON, _VALUE, _COMMA = range(4)


class ObjectScanner:
    """Walks one JSON object fed piece by piece, keeping its scalars at depth 1 and 2.

    ``scalars`` maps ``"key"`` (top level) or ``"parent.key"`` (one level down,
    e.g. latency's ``"percentiles.90"``) to the value's text.
    """

    def __init__(self) -> None:
        self.scalars: dict[str, str] = {}
        self.closed = False
        self._stack: list[object] = []  # a kept object's path ("" for the top), or _SKIP
        self._expect = _KEY
        self._key = ""
        self._size = 0

    @property
    def truncated(self) -> bool:
        return self._size > MAX_OBJECT_CHARS

    def feed(self, text: str) -> None:
        """Consume more of the object's text (anything after its closing brace is ignored)."""
        self._size += len(text)
        if self.closed or self.truncated:
            return
        for match in _TOKEN.finditer(text):
            token = match.group()
            first = token[0]
            if first == "{":
                self._stack.append(self._child_path())
                self._expect = _KEY
            elif first == "[":
                self._stack.append(_SKIP)
            elif first in "}]":
                if self._stack:
                    self._stack.pop()
                self._expect = _COMMA
                if not self._stack:
                    self.closed = True
                    return
            elif self._capturing():
                self._scalar_token(token)

    def _capturing(self) -> bool:
        return bool(self._stack) and self._stack[-1] is not _SKIP

    def _child_path(self) -> object:
        if not self._stack:
            return ""
        return self._path(self._key) if len(self._stack) == 1 and self._capturing() else _SKIP

    def _path(self, key: str) -> str:
        parent = self._stack[-1]
        return f"{parent}.{key}" if parent else key

    def _scalar_token(self, token: str) -> None:
        if token[0] == '"':
            if self._expect == _KEY:
                self._key = token[1:-1]
                self._expect = _COLON
            elif self._expect == _VALUE:
                self._keep(token[1:-1])
            return
        # Punctuation and bare values between strings: ": 12.5, " or ", " or ": ".
        rest = token.strip()
        if self._expect == _COLON and rest.startswith(":"):
            rest = rest[1:].lstrip()
            self._expect = _VALUE
        if self._expect == _VALUE and rest and rest[0] != ",":
            value, comma, rest = rest.partition(",")
            self._keep(value.strip())
            rest = comma + rest
        if rest.startswith(","):
            self._expect = _KEY

    def _keep(self, value: str) -> None:
        if len(self.scalars) < _MAX_SCALARS and len(value) <= _MAX_SCALAR_CHARS:
            self.scalars[self._path(self._key)] = value
        self._expect = _COMMA


def continues_object(line: str) -> bool:
    """Whether ``line`` can be part of a pretty-printed JSON object."""
    return _CONTINUATION.match(line) is not None


# A JSON key -> (canonical key, scale), or None if it is not a metric.
KeyMapper = Callable[[str], tuple[str, float] | None]
# (format, key mapper, keys that identify the kind of result)
_RESULT_KINDS: tuple[tuple[str, KeyMapper, tuple[str, ...]], ...] = (
    ("latency-json", latency_json_key, ("avg_latency",)),
    ("throughput-json", throughput_json_key, ("requests_per_second", "tokens_per_second")),
    ("serving-json", serving_json_key, ("completed", "request_throughput", "request_inthroughput")),
)


def _result_kind(scalars: dict[str, str]) -> tuple[str, KeyMapper] | None:
    """The format and key mapper of the result that ``scalars`` hold, or None if they hold none.

    A serving result trimmed to its latency statistics (no counts, no throughput) is still
    one when at least one statistic has a number: a file that only names them (column
    titles, a template of nulls) is not.
    """
    for format_name, mapper, identifying in _RESULT_KINDS:
        if any(key in scalars for key in identifying):
            return format_name, mapper
    if any(is_request_latency_stat(key) and parse_number(text) is not None for key, text in scalars.items()):
        return "serving-json", serving_json_key
    return None


def result_block(scanner: ObjectScanner, line: int) -> Block | None:
    """The result block of a scanned object, or None if it is not a benchmark result."""
    kind = _result_kind(scanner.scalars)
    if kind is None:
        return None
    format_name, mapper = kind
    block = Block(format_name, line, ended=scanner.closed and not scanner.truncated)
    for key, text in scanner.scalars.items():
        mapped = mapper(key)
        value = parse_number(text) if mapped else None
        if mapped and value is not None:
            canonical, scale = mapped
            block.put(canonical, value * scale)
    requested = parse_number(scanner.scalars.get("num_prompts", ""))
    if format_name == "serving-json" and requested is not None and requested.is_integer():
        block.requested = int(requested)
    return block


class JsonResults:
    """Follows at most one open JSON object through the log and emits its result block."""

    def __init__(self, emit: Callable[[Block], None]) -> None:
        self._emit = emit
        self._scanner: ObjectScanner | None = None
        self._line = 0

    @property
    def open(self) -> bool:
        return self._scanner is not None

    def start(self, text: str, number: int) -> None:
        """A line starting with ``{``: an object (maybe a whole one) starts here."""
        self._scanner, self._line = ObjectScanner(), number
        self._consume(text)

    def feed(self, line: str) -> bool:
        """Offer the next line to the open object; False if it is not part of it.

        A line that starts with ``{`` in its first column is a new object, never
        part of the open one (json.dump indents what it nests): a --append-result
        file whose previous run was killed while writing goes on with the next run.
        """
        if line[:1] == "{" or not continues_object(line):
            self.close()
            return False
        self._consume(line)
        return True

    def close(self) -> None:
        """End the open object (cut short if its closing brace never came)."""
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            block = result_block(scanner, self._line)
            if block is not None:
                self._emit(block)

    def _consume(self, text: str) -> None:
        assert self._scanner is not None
        self._scanner.feed(text)
        if self._scanner.closed or self._scanner.truncated:
            self.close()
