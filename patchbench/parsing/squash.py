"""Drop what JSON arrays hold from a long line as it is read, so it never has to be held whole.

A serving ``--save-result`` file is one line. With per-request arrays (always
before 2025-03, with ``--save-detailed`` since) it grows with the run:
``itls`` alone is one number per generated token, hundreds of megabytes for a
large run, and the summary keys (``mean_ttft_ms`` …) come *after* the arrays.
The result scanner skips arrays anyway, so a long line that opens an object is
passed through ``ArraySquasher`` piece by piece: every array is kept as ``[]``
and everything outside arrays as it is, so what is held stays small however
long the line is.
"""

from __future__ import annotations

import re

# Outside a string: the next character that changes the state.
_SPECIAL = re.compile(r'["\[\]]')
# Inside a string: the rest of it up to its closing quote (or a backslash left
# at the end of a piece, whose escaped character comes in the next piece).
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*')


class ArraySquasher:
    """Streams JSON text, replacing the contents of every array by nothing (``[1, [2]]`` → ``[]``)."""

    def __init__(self) -> None:
        self._depth = 0  # how many arrays the text is inside
        self._in_string = False
        self._escaped = False  # the previous piece ended with a backslash inside a string

    def feed(self, text: str) -> str:
        """The part of ``text`` to keep."""
        kept: list[str] = []
        position, end = 0, len(text)
        while position < end:
            if self._in_string:
                start = position
                if self._escaped:
                    position += 1
                    self._escaped = False
                    if position >= end:
                        if self._depth == 0:
                            kept.append(text[start:position])
                        continue
                match = _STRING_REST.match(text, position)
                assert match is not None  # the pattern matches the empty string
                position = match.end()
                if position < end and text[position] == '"':
                    position += 1
                    self._in_string = False
                elif position < end:  # a backslash that ends the piece
                    position = end
                    self._escaped = True
                if self._depth == 0:
                    kept.append(text[start:position])
                continue
            match = _SPECIAL.search(text, position)
            stop = match.start() if match else end
            if self._depth == 0:
                kept.append(text[position:stop])
            if match is None:
                break
            char = text[stop]
            if char == '"':
                self._in_string = True
                if self._depth == 0:
                    kept.append(char)
            elif char == "[":
                if self._depth == 0:
                    kept.append(char)
                self._depth += 1
            elif self._depth:  # "]"
                self._depth -= 1
                if self._depth == 0:
                    kept.append(char)
            else:  # a stray "]" outside any array: kept, the scanner decides
                kept.append(char)
            position = stop + 1
        return "".join(kept)


def squash(text: str) -> str:
    """``text`` (a whole JSON line) with every array emptied."""
    return ArraySquasher().feed(text)
