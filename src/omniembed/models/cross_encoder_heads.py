"""Which scoring head a CrossEncoder gets for a checkpoint that has no saved stack (no ``modules.json``).

The choice follows the checkpoint's family (reference §10), read from its config:

* a speech encoder–decoder (Whisper) → :class:`~omniembed.modules.generative_score.GenerativeScore`;
* a vision-language model (LLaVA, Qwen-VL…) → refused with :data:`VLM_RERANKER_HINT`: nothing in the
  checkpoint says how it scores pairs, so it is assembled by hand once and saved, as in the reference;
* ``*ForCausalLM`` → ``Transformer("text-generation")`` + ``LogitScore(id("yes"), id("no"))``, left-padded;
* anything else → ``Transformer("sequence-classification")`` reading the logits as scores.

Kept apart from :mod:`omniembed.models.cross_encoder` (the arguments, activation and scoring calls) because it is
loading logic: it reads configs and tokenizers, never inputs.

Example:
    >>> from transformers import BertConfig, LlavaConfig
    >>> from omniembed.models.cross_encoder_heads import is_vision_language
    >>> is_vision_language(LlavaConfig()), is_vision_language(BertConfig())
    (True, False)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from omniembed.errors import ConfigError, ModelLoadError

__all__ = ["CAUSAL_TASKS", "VLM_RERANKER_HINT", "default_modules", "is_vision_language", "left_pad", "yes_no_ids"]

#: ``transformer_task`` values whose score is read at the last position (so they pad on the left).
CAUSAL_TASKS = ("text-generation", "any-to-any")

VLM_RERANKER_HINT = (
    "{path!r} holds a vision-language model ({architecture}) and no saved reranker (modules.json), so CrossEncoder "
    "cannot tell how it scores pairs (AutoModelForSequenceClassification, the reference's default, has no class for "
    "it either). Assemble it once from modules and save it, as in the reference: "
    "Transformer(folder, transformer_task='any-to-any', module_output_name='causal_logits', modality_config=<logits "
    "for text, image and message>) followed by LogitScore(<id of 'yes'>, <id of 'no'>), then "
    "CrossEncoder(modules=[...]).save('my-reranker'); CrossEncoder('my-reranker') loads it from then on. "
    "docs/getting-started.md ('A reranker from a vision-language model') has the code."
)


def default_modules(path: str, load_kwargs: dict[str, Any]) -> list[nn.Module]:
    """The CrossEncoder stack for the checkpoint at ``path`` (see the module docstring for the choice)."""
    from omniembed.modules import LogitScore, Transformer, loading
    from omniembed.modules.generative_score import GenerativeScore, is_speech_seq2seq

    hub = {k: load_kwargs.get(k) for k in ("cache_dir", "trust_remote_code", "local_files_only", "token")}
    config = loading.load_config(path, config_kwargs=dict(load_kwargs.get("config_kwargs") or {}), hub_kwargs=hub)
    architectures = getattr(config, "architectures", None) or []
    if is_speech_seq2seq(config):
        return [GenerativeScore(path, **load_kwargs)]
    if is_vision_language(config):
        raise ModelLoadError(VLM_RERANKER_HINT.format(path=path, architecture=(architectures or ["?"])[0]))
    if architectures and architectures[0].endswith("ForCausalLM"):
        transformer = Transformer(path, transformer_task="text-generation", **load_kwargs)
        # Same modalities as inferred (text, and message with the template's format); outputs are the logits.
        transformer.modality_config = {k: {**v, "method": "forward", "method_output_name": "logits"}
                                       for k, v in transformer.modality_config.items()}
        transformer.module_output_name = "causal_logits"
        return [transformer, LogitScore(*yes_no_ids(transformer.tokenizer))]
    transformer = Transformer(
        path, transformer_task="sequence-classification",
        modality_config={"text": {"method": "forward", "method_output_name": "logits"}},
        module_output_name="scores", **load_kwargs,
    )
    return [transformer]


def is_vision_language(config: Any) -> bool:
    """A checkpoint with a vision tower and a language head (LLaVA, Qwen-VL…): no pair-scoring head to guess."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    if config.model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        return False
    return getattr(config, "vision_config", None) is not None


def yes_no_ids(tokenizer: Any) -> tuple[int, int]:
    """The single-token ids of "yes" and "no", which a causal reranker's next-token logits are read at."""
    ids = []
    for token in ("yes", "no"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        unknown = token_id is None or (token_id == tokenizer.unk_token_id and token != tokenizer.unk_token)
        if unknown:
            raise ConfigError(
                "The tokenizer does not have 'yes' and/or 'no' tokens, which are used as the default true/false "
                "tokens for the LogitScore post-processing module. Please provide custom modules with your desired "
                "LogitScore configuration, or use a model with a tokenizer that supports these tokens.")
        ids.append(int(token_id))
    return ids[0], ids[1]


def left_pad(transformer: Any) -> None:
    """Pad on the left: a causal head's score is read at the last position, which must be the pair's last token."""
    for owner in (transformer.processor, getattr(transformer.processor, "tokenizer", None)):
        if owner is not None and hasattr(owner, "padding_side"):
            owner.padding_side = "left"
