"""Tiny tokenizers trained offline with the `tokenizers` library for the random test models.

Named ``toy_tokenizers`` rather than ``tokenizers`` so that putting ``tests/support`` on ``sys.path`` can never
shadow the real ``tokenizers`` package.

Every builder is deterministic: the trainers see the same corpus in the same order, so the vocabularies (and thus
the token ids baked into model configs) are identical from run to run.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

__all__ = [
    "CORPUS",
    "bpe_vocab_merges",
    "byte_bpe_tokenizer",
    "clip_bpe_vocab_merges",
    "roberta_bpe_tokenizer",
    "siglip_bpe_tokenizer",
    "wordpiece_tokenizer",
]

# Short sentences covering every modality's test prompts. The prompt words ("query: document: passage:") must be
# in the corpus so prompts tokenise to whole, known pieces (the reference: "query: " -> [CLS] query : = 3 tokens).
CORPUS: tuple[str, ...] = (
    "query: document: passage: query: document: passage:",
    "a photo of a cat",
    "a photo of a dog",
    "a picture of an astronaut in space",
    "a cup of coffee on a table",
    "a rocket launching into the sky",
    "how many people live in berlin",
    "berlin is the capital of germany",
    "the weather will be sunny and warm tomorrow",
    "a dog is barking loudly in the park",
    "hello world, this is a test of the speech recognition system.",
    "a man is eating food. a man is riding a horse.",
    "someone is playing music on a guitar",
    "a video of people dancing at a party",
    "is this document relevant to the query? yes or no",
    "system: user: assistant: image video audio text",
)
_REPEATS = 20
_CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _corpus() -> list[str]:
    return [sentence for sentence in CORPUS for _ in range(_REPEATS)]


def _ids(tokenizer: Tokenizer, *tokens: str) -> list[int]:
    ids = [tokenizer.token_to_id(token) for token in tokens]
    if any(i is None for i in ids):
        raise RuntimeError(f"special tokens missing from the trained vocabulary: {tokens} -> {ids}")
    return ids  # type: ignore[return-value]


def _copy(tokenizer: Tokenizer) -> Tokenizer:
    # lru_cache hands out one shared object; callers add tokens/post-processors, so give each a private copy.
    return Tokenizer.from_str(tokenizer.to_str())


@cache
def _wordpiece() -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    cls_id, sep_id = _ids(tok, "[CLS]", "[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    return tok


def wordpiece_tokenizer() -> Tokenizer:
    """BERT-style uncased WordPiece (vocab ~300) with ``[CLS] $A [SEP]`` templates."""
    return _copy(_wordpiece())


@cache
def _clip_bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>", end_of_word_suffix="</w>"))
    # Train under CLIPTokenizer's own normalizer and pre-tokenizer (which it always installs): merges learnt under
    # a different split (e.g. with "Ġ" word prefixes) would never fire and every word would fall apart into bytes.
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|startoftext|>", "<|endoftext|>"],
        end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    return tok


def bpe_vocab_merges(tokenizer: Tokenizer) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of a BPE tokenizer, the arguments of ``CLIPTokenizer``/``RobertaTokenizer(vocab=, merges=)``."""
    state: dict[str, Any] = json.loads(tokenizer.to_str())["model"]
    # Older tokenizers releases serialise merges as "left right" strings, newer ones as pairs; BPE() wants tuples.
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in state["merges"]]
    return dict(state["vocab"]), merges  # type: ignore[return-value]


def clip_bpe_vocab_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's byte-level BPE with the ``</w>`` word suffix, as (vocab, merges) for ``CLIPTokenizer``."""
    return bpe_vocab_merges(_clip_bpe())


@cache
def _byte_bpe(specials: tuple[str, ...]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    return tok


def byte_bpe_tokenizer(extra_special: tuple[str, ...] = ()) -> Tokenizer:
    """GPT/Llama-3 style byte-level BPE (cased, decodes back to text) for causal LMs and VLMs.

    ``<|startoftext|>`` (BOS) is prepended by the post-processor, as Llama tokenizers do; ``<|endoftext|>`` is
    EOS/PAD/UNK. ``extra_special`` tokens (e.g. ``<image>``, ``yes``, ``no``) are added as special tokens so each is
    exactly one id, which ``LogitScore(id("yes"), id("no"))`` and LLaVA's image-token expansion rely on.
    """
    tok = _copy(_byte_bpe(("<|startoftext|>", "<|endoftext|>")))
    (bos_id,) = _ids(tok, "<|startoftext|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A",
        pair="<|startoftext|> $A $B:1",
        special_tokens=[("<|startoftext|>", bos_id)],
    )
    if extra_special:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in extra_special])
    return tok


def roberta_bpe_tokenizer() -> Tokenizer:
    """RoBERTa-style byte-level BPE: ``<s> $A </s>`` (pairs ``<s> A </s></s> B </s>``), for CLAP's text tower.

    Trained under the same ``ByteLevel(add_prefix_space=False)`` split ``RobertaTokenizer`` installs, so its
    (vocab, merges) load into ``RobertaTokenizer`` unchanged.
    """
    tok = _copy(_byte_bpe(("<s>", "<pad>", "</s>", "<unk>", "<mask>")))
    bos_id, eos_id = _ids(tok, "<s>", "</s>")
    tok.post_processor = processors.RobertaProcessing(("</s>", eos_id), ("<s>", bos_id))
    return tok


def siglip_bpe_tokenizer() -> Tokenizer:
    """Stand-in for SigLIP's sentencepiece tokenizer: lowercased byte-level BPE that appends ``</s>`` and no BOS.

    The real ``SiglipTokenizer`` needs the optional ``sentencepiece`` package, which the offline test environment
    lacks; what matters to SigLIP is the EOS at the end, the ``<pad>`` id and ``padding="max_length"``.
    """
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.normalizer = normalizers.Lowercase()
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    base.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    base.train_from_iterator(_corpus(), trainer)
    (eos_id,) = _ids(base, "</s>")
    base.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B:1 </s>:1", special_tokens=[("</s>", eos_id)]
    )
    return base
