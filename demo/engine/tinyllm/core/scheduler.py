"""The scheduler: decides which sequences run in the next engine step."""

import time
from collections import deque
from dataclasses import dataclass
from typing import Optional

from tinyllm.config import SchedulerConfig
from tinyllm.sequence import Sequence, SequenceStatus


@dataclass
class SchedulerOutputs:
    scheduled_seqs: list[Sequence]
    # True when the step runs prompts (prefill), False when it decodes one token per sequence.
    is_prompt: bool
    num_batched_tokens: int

    def is_empty(self) -> bool:
        return not self.scheduled_seqs


class Scheduler:
    """First-come-first-served continuous batching with prefill priority, as in vLLM.

    Waiting sequences join the running batch as soon as there is room; a step
    either runs the prompts of newly admitted sequences or decodes one token
    for every running sequence.
    """

    def __init__(self, scheduler_config: SchedulerConfig) -> None:
        self.scheduler_config = scheduler_config
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []

    def add_seq(self, seq: Sequence) -> None:
        self.waiting.append(seq)

    def abort_seq(self, request_id: str) -> Optional[Sequence]:
        for queue in (self.waiting, self.running):
            for seq in queue:
                if seq.request_id == request_id:
                    queue.remove(seq)
                    seq.status = SequenceStatus.FINISHED_ABORTED
                    return seq
        return None

    def has_unfinished_seqs(self) -> bool:
        return bool(self.waiting or self.running)

    def get_num_unfinished_seqs(self) -> int:
        return len(self.waiting) + len(self.running)

    def schedule(self) -> SchedulerOutputs:
        now = time.time()
        # Admit every waiting sequence there is room for and run their prompts first.
        prefills: list[Sequence] = []
        while self.waiting and len(self.running) < self.scheduler_config.max_num_seqs:
            seq = self.waiting.popleft()
            seq.status = SequenceStatus.RUNNING
            seq.first_scheduled_time = now
            self.running.append(seq)
            prefills.append(seq)
        if prefills:
            num_tokens = sum(seq.get_len() for seq in prefills)
            return SchedulerOutputs(prefills, is_prompt=True, num_batched_tokens=num_tokens)
        return SchedulerOutputs(list(self.running), is_prompt=False, num_batched_tokens=len(self.running))

    def free_finished_seqs(self) -> None:
        self.running = [seq for seq in self.running if not seq.is_finished()]
