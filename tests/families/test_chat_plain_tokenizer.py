"""Chat renders through a plain tokenizer (issue 8, point 4): never special tokens on top of the template's own,
exactly what transformers' ``tokenizer.apply_chat_template(tokenize=True)`` (and so the reference) produces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.models import FLAT_CHAT_TEMPLATE

from omniembed import SentenceTransformer

# a template that writes no BOS: before the fix, a BOS-adding tokenizer put one in front of it
NO_BOS_TEMPLATE = FLAT_CHAT_TEMPLATE.replace("{{- bos_token -}}", "")


@pytest.mark.parametrize("template", [FLAT_CHAT_TEMPLATE, NO_BOS_TEMPLATE], ids=["bos-in-template", "no-bos"])
def test_token_ids_equal_apply_chat_template(template, model_dirs, quiet_transformers):
    model = SentenceTransformer(model_dirs["llama"], device="cpu", processor_kwargs={"chat_template": template})
    tokenizer = model.tokenizer
    assert tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id  # this tokenizer adds BOS to plain text
    seen = []
    handle = model[0].register_forward_pre_hook(lambda module, args: seen.append(dict(args[0])))
    try:
        ours = model.encode(["a photo of a cat"], normalize_embeddings=False)
    finally:
        handle.remove()
    expected = tokenizer.apply_chat_template([[{"role": "user", "content": "a photo of a cat"}]], tokenize=True,
                                             return_dict=True, return_tensors="pt")
    assert seen[0]["input_ids"].tolist() == expected["input_ids"].tolist()
    assert (seen[0]["input_ids"][0] == tokenizer.bos_token_id).sum() == (1 if template is FLAT_CHAT_TEMPLATE else 0)
    with torch.inference_mode():  # direct: the backbone on those ids, the last token's hidden state
        hidden = model[0].auto_model(**expected).last_hidden_state[0, -1].numpy()
    assert model[1].pooling_mode == "lasttoken"  # a raw *ForCausalLM folder, as the reference picks it
    np.testing.assert_allclose(ours[0], hidden, atol=1e-5)
