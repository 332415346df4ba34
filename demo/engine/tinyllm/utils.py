"""Small helpers shared by the engine and the entrypoints."""

import uuid


def random_uuid() -> str:
    return uuid.uuid4().hex


class Counter:
    """A monotonically increasing counter (request ids, sequence ids)."""

    def __init__(self, start: int = 0) -> None:
        self.counter = start

    def __next__(self) -> int:
        value = self.counter
        self.counter += 1
        return value

    def reset(self) -> None:
        self.counter = 0
