"""Tiny random encoders of the BERT families (one per ``model_type``) and a padded batch of token ids for them, for
tests that compare omniembed's inference rewrites with transformers' untouched forward."""

from __future__ import annotations

import torch
from transformers import AutoConfig, AutoModel

SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
         "vocab_size": 99, "max_position_embeddings": 64}
DISTILBERT = {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37, "vocab_size": 99, "max_position_embeddings": 64}
LENGTHS = [12, 3, 9, 12, 1]  # padded to 12; one row unpadded, one of length 1


def tiny(model_type: str, attn: str = "sdpa", **overrides) -> torch.nn.Module:
    sizes = DISTILBERT if model_type == "distilbert" else SIZES
    config = AutoConfig.for_model(model_type, **sizes, **overrides)
    torch.manual_seed(0)
    return AutoModel.from_config(config, attn_implementation=attn).eval()


def batch(lengths=LENGTHS, vocab: int = 99) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, vocab, (len(lengths), max(lengths)), generator=generator)
    mask = (torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]).long()
    return {"input_ids": ids * mask, "attention_mask": mask}
