"""The tokenizer of the tinyllm models: character bigrams.

Real engines load BPE tokenizers from Hugging Face; tinyllm ships a tokenizer
that needs nothing but the standard library. Its pieces are the 27 characters
of a lower-case alphabet (the letters and the space) and every pair of them, so
text is about two characters per token. Other characters become ``<unk>``.
"""

from dataclasses import dataclass

from tinyllm.config import get_model_config

ALPHABET = "abcdefghijklmnopqrstuvwxyz "
SPECIAL_TOKENS = ("<unk>", "<s>", "</s>")


@dataclass
class BatchEncoding:
    """What ``tokenizer(text)`` returns, shaped like the Hugging Face object."""

    input_ids: list[int]


class TinyTokenizer:
    """Greedy bigram tokenizer: each step takes two characters when it can."""

    def __init__(self, name: str) -> None:
        self.name_or_path = name
        pieces = list(SPECIAL_TOKENS) + list(ALPHABET)
        pieces += [a + b for a in ALPHABET for b in ALPHABET]
        self._pieces = pieces
        self._vocab = {piece: i for i, piece in enumerate(pieces)}
        self.unk_token_id = 0
        self.bos_token_id = 1
        self.eos_token_id = 2
        self.all_special_ids = [0, 1, 2]

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        text = text.lower()
        ids = [self.bos_token_id] if add_special_tokens else []
        vocab = self._vocab
        i = 0
        while i < len(text):
            pair = vocab.get(text[i : i + 2]) if i + 1 < len(text) else None
            if pair is not None:
                ids.append(pair)
                i += 2
            else:
                ids.append(vocab.get(text[i], self.unk_token_id))
                i += 1
        return ids

    def decode(self, token_ids: list[int], skip_special_tokens: bool = True) -> str:
        pieces = self._pieces
        if skip_special_tokens:
            return "".join(pieces[t] for t in token_ids if t >= len(SPECIAL_TOKENS))
        return "".join(pieces[t] for t in token_ids)

    def __call__(self, text: str, add_special_tokens: bool = True) -> BatchEncoding:
        return BatchEncoding(input_ids=self.encode(text, add_special_tokens=add_special_tokens))

    def __repr__(self) -> str:
        return f"TinyTokenizer(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size})"


def get_tokenizer(tokenizer_name: str, **kwargs: object) -> TinyTokenizer:
    """Return the tokenizer of a tinyllm model (extra keyword arguments are accepted and ignored)."""
    get_model_config(tokenizer_name)  # raises for unknown models
    return TinyTokenizer(tokenizer_name)
