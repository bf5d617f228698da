"""Chat templates written for the tiny Qwen-VL and Qwen3-like test models (not copied from any checkpoint).

They render the way the real Qwen templates do where it matters to an embedder or reranker:

* ChatML framing: ``<|im_start|>{role}\\n{content}<|im_end|>\\n``, a default system turn when the conversation
  has none, and ``<|im_start|>assistant\\n`` for ``add_generation_prompt``.
* Structured content: each ``{"type": "image"}`` item renders ``<|vision_start|><|image_pad|><|vision_end|>``
  and each ``{"type": "video"}`` item ``<|vision_start|><|video_pad|><|vision_end|>``; the processor then
  expands the single pad token to one token per merged patch (and, for Qwen3-VL video, into per-frame
  ``<t seconds>`` groups). The ``item['type']`` lookups make the reference classify them as *structured*.
* No BOS anywhere (Qwen tokenizers have none), so the processor keeps ``add_special_tokens`` at its default.

The reranker templates render ``query``/``document`` roles into fixed ``<Query>``/``<Document>`` fields and
end where ``yes``/``no`` comes next, the shape of Qwen3-VL-Reranker and Qwen3-Reranker.
"""

from __future__ import annotations

__all__ = [
    "CAUSAL_CHAT_TEMPLATE",
    "CAUSAL_RERANKER_TEMPLATE",
    "QWEN2_VL_CHAT_TEMPLATE",
    "QWEN3_VL_CHAT_TEMPLATE",
    "VL_RERANKER_TEMPLATE",
]

# One content list (or string) -> text with vision placeholders. Shared by every structured template.
_RENDER_CONTENT = (
    "{%- macro render_content(content) -%}"
    "{%- if content is string -%}{{- content -}}"
    "{%- else -%}{%- for item in content -%}"
    "{%- if item['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'video' -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- endmacro -%}"
)


def _chatml(default_system: str) -> str:
    """ChatML over structured content; ``default_system`` is a Jinja expression for the implicit system turn."""
    return (
        _RENDER_CONTENT + "{%- for message in messages -%}"
        "{%- if loop.first and message['role'] != 'system' -%}"
        "{{- '<|im_start|>system\\n' + " + default_system + " + '<|im_end|>\\n' -}}"
        "{%- endif -%}"
        "{{- '<|im_start|>' + message['role'] + '\\n' + render_content(message['content']) + '<|im_end|>\\n' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
    )


# Qwen2-VL / Qwen2.5-VL embedder: a fixed default system turn.
QWEN2_VL_CHAT_TEMPLATE = _chatml("'Represent the user input.'")

# Qwen3-VL embedder: task-aware default system turn. The reference passes ``task=`` ("query" / "document" from
# encode_query / encode_document) only to templates that declare the variable, so this one exercises that path;
# an explicit prompt arrives as a system message and replaces the default.
QWEN3_VL_CHAT_TEMPLATE = _chatml(
    "('Represent the query for retrieving matching documents.' if task == 'query' else "
    "('Represent the document for retrieval.' if task == 'document' else 'Represent the user input.'))"
)

# Qwen-VL reranker (selected by name: ``processing_kwargs={"chat_template": {"chat_template": "reranker"}}``).
# A system message (where a prompt lands) replaces the default instruction.
VL_RERANKER_TEMPLATE = (
    _RENDER_CONTENT + "{%- set ns = namespace(instruction='Find the document that matches the query.', "
    "query='', document='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.instruction = render_content(message['content']) -%}"
    "{%- elif message['role'] == 'query' -%}{%- set ns.query = render_content(message['content']) -%}"
    "{%- elif message['role'] == 'document' -%}{%- set ns.document = render_content(message['content']) -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<|im_start|>system\\nJudge whether the document meets the query. Answer only yes or no.<|im_end|>\\n' -}}"
    "{{- '<|im_start|>user\\n<Instruct>: ' + ns.instruction + '\\n<Query>: ' + ns.query -}}"
    "{{- '\\n<Document>: ' + ns.document + '<|im_end|>\\n' -}}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# Qwen3-like causal LM (plain tokenizer): flat ChatML (string content, so the reference infers the *flat*
# message format) with a task-aware instruction line for queries, the Qwen3-Embedding "Instruct:/Query:" shape.
CAUSAL_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if task == 'query' and message['role'] == 'user' -%}"
    "{{- 'Instruct: Given a question, find passages that answer it\\nQuery: ' -}}"
    "{%- endif -%}"
    "{{- message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# Qwen3-Reranker-like template for the causal LM, selected by name ("reranker"), flat content.
CAUSAL_RERANKER_TEMPLATE = (
    "{%- set ns = namespace(instruction='Given a question, judge whether the passage answers it', "
    "query='', document='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.instruction = message['content'] -%}"
    "{%- elif message['role'] == 'query' -%}{%- set ns.query = message['content'] -%}"
    "{%- elif message['role'] == 'document' -%}{%- set ns.document = message['content'] -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<|im_start|>system\\nJudge whether the document meets the query. Answer only yes or no.<|im_end|>\\n' -}}"
    "{{- '<|im_start|>user\\n<Instruct>: ' + ns.instruction + '\\n<Query>: ' + ns.query -}}"
    "{{- '\\n<Document>: ' + ns.document + '<|im_end|>\\n' -}}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
