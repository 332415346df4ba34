"""tinyllm: a tiny, pure-Python stand-in for vLLM.

tinyllm mirrors the shape of vLLM (an ``LLM`` class for offline inference, an
engine with a scheduler, a model runner and a sampler, and an OpenAI-compatible
API server) with a toy transformer small enough to run on a CPU with the Python
standard library only. It exists so that benchmark tooling can be exercised
end to end without a GPU.
"""

from tinyllm.entrypoints.llm import LLM
from tinyllm.outputs import CompletionOutput, RequestOutput
from tinyllm.sampling_params import SamplingParams

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "CompletionOutput",
    "RequestOutput",
    "SamplingParams",
    "__version__",
]
