"""The tinyllm transformer: a Llama-style decoder in pure Python.

RMSNorm, rotary multi-head attention and a SwiGLU MLP, with the input
embedding tied to the LM head. The weights are random but deterministic (drawn
from the model config's seed), so every run of a model computes the same
numbers.
"""

import random
import time
from operator import mul

from tinyllm.config import ModelConfig
from tinyllm.logger import init_logger
from tinyllm.model_executor.layers import (
    Matrix,
    RotaryEmbedding,
    Vector,
    add,
    init_matrix,
    matvec,
    rms_norm,
    silu,
    softmax,
)

logger = init_logger(__name__)


class TinyDecoderLayer:
    def __init__(self, config: ModelConfig, rng: random.Random) -> None:
        h, f = config.hidden_size, config.intermediate_size
        self.num_heads = config.num_heads
        self.head_dim = config.head_dim
        self.scale = self.head_dim**-0.5
        self.eps = config.rms_norm_eps
        self.input_layernorm: Vector = [1.0] * h
        self.q_proj: Matrix = init_matrix(rng, h, h)
        self.k_proj: Matrix = init_matrix(rng, h, h)
        self.v_proj: Matrix = init_matrix(rng, h, h)
        self.o_proj: Matrix = init_matrix(rng, h, h)
        self.post_attention_layernorm: Vector = [1.0] * h
        self.gate_proj: Matrix = init_matrix(rng, f, h)
        self.up_proj: Matrix = init_matrix(rng, f, h)
        self.down_proj: Matrix = init_matrix(rng, h, f)

    def forward(
        self,
        hidden_states: list[Vector],
        positions: list[int],
        rotary_emb: RotaryEmbedding,
    ) -> list[Vector]:
        """Run the layer over every position of a sequence."""
        normed = [rms_norm(x, self.input_layernorm, self.eps) for x in hidden_states]
        queries = [rotary_emb(matvec(self.q_proj, x), p, self.num_heads) for x, p in zip(normed, positions)]
        keys = [rotary_emb(matvec(self.k_proj, x), p, self.num_heads) for x, p in zip(normed, positions)]
        values = [matvec(self.v_proj, x) for x in normed]
        attn_outputs = self._causal_attention(queries, keys, values)
        hidden_states = [add(x, matvec(self.o_proj, a)) for x, a in zip(hidden_states, attn_outputs)]
        return [self._mlp(x) for x in hidden_states]

    def _causal_attention(
        self,
        queries: list[Vector],
        keys: list[Vector],
        values: list[Vector],
    ) -> list[Vector]:
        """Position i attends to positions 0..i, head by head."""
        hd = self.head_dim
        outputs: list[Vector] = [[] for _ in queries]
        for h in range(self.num_heads):
            lo, hi = h * hd, (h + 1) * hd
            head_keys = [k[lo:hi] for k in keys]
            # One list per feature, so that the weighted sum over positions is a dot product.
            head_values = [list(col) for col in zip(*(v[lo:hi] for v in values))]
            for i, q in enumerate(queries):
                q_h = q[lo:hi]
                scores = [sum(map(mul, q_h, k)) * self.scale for k in head_keys[: i + 1]]
                probs = softmax(scores)
                # map() stops at the shorter list: only positions 0..i are summed.
                outputs[i] += [sum(map(mul, probs, col)) for col in head_values]
        return outputs

    def _mlp(self, x: Vector) -> Vector:
        normed = rms_norm(x, self.post_attention_layernorm, self.eps)
        gate = matvec(self.gate_proj, normed)
        up = matvec(self.up_proj, normed)
        return add(x, matvec(self.down_proj, [silu(g) * u for g, u in zip(gate, up)]))


class TinyLLMForCausalLM:
    def __init__(self, config: ModelConfig) -> None:
        start = time.perf_counter()
        self.config = config
        rng = random.Random(config.seed)
        self.embed_tokens: Matrix = init_matrix(rng, config.vocab_size, config.hidden_size)
        # The end-of-sequence row is zero: the toy model rarely wants to stop.
        self.embed_tokens[2] = [0.0] * config.hidden_size
        self.layers = [TinyDecoderLayer(config, rng) for _ in range(config.num_layers)]
        self.norm: Vector = [1.0] * config.hidden_size
        self.lm_head: Matrix = self.embed_tokens  # tied embeddings
        self.rotary_emb = RotaryEmbedding(
            config.head_dim, config.max_position_embeddings, config.rope_theta
        )
        logger.info(
            "Loading model weights took %.4f GB (%d parameters) in %.2f s",
            config.num_parameters() * 4 / 2**30,
            config.num_parameters(),
            time.perf_counter() - start,
        )

    def forward(self, token_ids: list[int]) -> list[Vector]:
        """Run a whole sequence through the model; return the logits of every position."""
        positions = list(range(len(token_ids)))
        hidden_states = [self.embed_tokens[t] for t in token_ids]
        for layer in self.layers:
            hidden_states = layer.forward(hidden_states, positions, self.rotary_emb)
        eps = self.config.rms_norm_eps
        return [matvec(self.lm_head, rms_norm(x, self.norm, eps)) for x in hidden_states]
