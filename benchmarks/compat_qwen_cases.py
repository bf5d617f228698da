"""The cases ``compat_qwen.py`` runs through the reference for issue 8, as plain JSON-able dicts.

Each case: ``id`` (unique, ``model:name``), ``model`` (a ``support.qwen_saved.SUITE`` name), ``cls``
(``SentenceTransformer`` / ``CrossEncoder``), ``call`` (``info``, ``encode``, ``encode_query``,
``encode_document``, ``predict``, ``rank``, ``preprocess``), ``inputs`` (a ``support.qwen_inputs`` spec),
``kwargs`` (call keyword arguments; ``rank`` takes ``{"query": spec}`` and ``inputs`` = the documents) and
``load`` (constructor keyword arguments). Processor-level cases (``call`` = ``image_processor`` /
``video_processor`` / ``direct``) are run with plain transformers in the reference environment.
"""

from __future__ import annotations

from typing import Any

VL_FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")
IMAGE_NAMES = ("aligned28", "aligned16", "odd", "large", "small", "rgba", "gray")


def img(name: str) -> dict:
    return {"$image": name}


def vid(name: str, form: str = "array", fps: float | None = None) -> dict:
    spec: dict[str, Any] = {"$video": name, "as": form}
    if fps is not None:
        spec["fps"] = fps
    return spec


def pair(a: Any, b: Any) -> dict:
    return {"$pair": [a, b]}


def _case(model: str, name: str, call: str, inputs: Any = None, cls: str = "SentenceTransformer", **kw: Any) -> dict:
    return {
        "id": f"{model}:{name}",
        "model": model,
        "cls": cls,
        "call": call,
        "inputs": inputs,
        "kwargs": kw.pop("kwargs", {}),
        "load": kw.pop("load", {}),
        **kw,
    }


T = (
    "a photo of a cat",
    "berlin is the capital of germany",
    "a rocket launching into the sky",
    "how many people live in berlin",
    "a cup of coffee on a table",
)
_CHAT = [
    {"role": "system", "content": [{"type": "text", "text": "Describe the scene."}]},
    {"role": "user", "content": [{"type": "image", "image": img("odd")}, {"type": "text", "text": T[0]}]},
]
_CHAT_TEXT = [{"role": "user", "content": [{"type": "text", "text": T[1]}]}]
_MIXED = [T[0], img("odd"), {"text": T[2], "image": img("small")}, T[3], img("aligned16")]
NO_SAMPLING = {"processing_kwargs": {"video": {"do_sample_frames": False}}}


def vl_embedder_cases(family: str) -> list[dict]:
    m = f"{family}/embedder"
    raw = f"{family}/raw"
    images = [img(n) for n in IMAGE_NAMES]
    cases = [
        _case(raw, "info", "info"),
        _case(raw, "texts", "encode", list(T[:3])),
        _case(raw, "images", "encode", [img("odd"), img("aligned16")]),
        _case(m, "info", "info"),
        _case(m, "texts", "encode", list(T)),
        _case(m, "images_pil", "encode", images),
        _case(m, "images_path", "encode", [{"$image_path": n} for n in IMAGE_NAMES]),
        _case(m, "images_array", "encode", [{"$image_array": n} for n in ("aligned28", "odd", "small")]),
        _case(m, "images_url", "encode", [{"$image_url": n} for n in ("odd", "rgba")]),
        _case(m, "images_bytes", "encode", [{"$image_bytes": "odd"}]),
        _case(m, "image_single", "encode", img("odd")),
        _case(m, "image_dict_single_key", "encode", [{"image": img("odd")}]),
        _case(m, "text_image_dicts", "encode", [{"text": T[0], "image": img("odd")}, {"text": T[2], "image": img("large")}]),
        _case(m, "image_text_dict_order", "encode", [{"image": img("odd"), "text": T[0]}]),
        _case(m, "mixed_bs1", "encode", _MIXED, kwargs={"batch_size": 1}),
        _case(m, "mixed_bs2", "encode", _MIXED, kwargs={"batch_size": 2}),
        _case(m, "mixed_bs32", "encode", _MIXED, kwargs={"batch_size": 32}),
        _case(m, "query", "encode_query", [T[3], img("odd")]),
        _case(m, "document", "encode_document", [T[1], img("odd")]),
        _case(m, "explicit_prompt", "encode", [T[0], img("odd")], kwargs={"prompt": "Represent this for clustering."}),
        _case(m, "conversation_single", "encode", _CHAT),
        _case(m, "conversations", "encode", [_CHAT, _CHAT_TEXT]),
        _case(m, "video_array", "encode", [vid("clip8")]),
        _case(m, "video_array_no_sampling", "encode", [vid("clip8"), vid("clip5")], kwargs=NO_SAMPLING),
        _case(m, "video_frames_list", "encode", [vid("clip5", "frames")]),
        _case(m, "video_frames_list_no_sampling", "encode", [vid("clip5", "frames")], kwargs=NO_SAMPLING),
        _case(m, "video_meta_fps4", "encode", [vid("clip8", "meta", fps=4.0)]),
        _case(m, "video_meta_fps4_no_sampling", "encode", [vid("clip8", "meta", fps=4.0)], kwargs=NO_SAMPLING),
        _case(m, "video_text_dict", "encode", [{"text": T[4], "video": vid("clip8")}], kwargs=NO_SAMPLING),
        _case(m, "still2_vs_image", "encode", [vid("still2"), img("aligned16")], kwargs=NO_SAMPLING),
        _case(m, "max_pixels_call", "encode", [img("large")],
              kwargs={"processing_kwargs": {"image": {"size": {"shortest_edge": 784, "longest_edge": 1568}}}}),
        _case(m, "max_pixels_load", "encode", [img("large")], load={"processor_kwargs": {"max_pixels": 1568}}),
        # what reaches the model, one item at a time (no length sorting involved)
        _case(m, "pre_text", "preprocess", [T[0]]),
        _case(m, "pre_text_query", "preprocess", [T[0]], kwargs={"task": "query"}),
        _case(m, "pre_text_prompt", "preprocess", [T[0]], kwargs={"prompt": VL_QUERY_PROMPT}),
        _case(m, "pre_image", "preprocess", [img("odd")]),
        _case(m, "pre_text_image", "preprocess", [{"text": T[0], "image": img("small")}]),
        _case(m, "pre_two_texts", "preprocess", [T[0], T[1]]),
        _case(m, "pre_video", "preprocess", [vid("clip8")]),
        _case(m, "pre_video_no_sampling", "preprocess", [vid("clip5")], kwargs=NO_SAMPLING),
        _case(m, "pre_video_meta", "preprocess", [vid("clip8", "meta", fps=4.0)]),
    ]
    return cases


VL_QUERY_PROMPT = "Find the picture or passage that matches this query."


def vl_reranker_cases(family: str) -> list[dict]:
    m = f"{family}/reranker"
    ce = "CrossEncoder"
    docs = [T[1], img("odd"), {"text": T[2], "image": img("small")}, T[4]]
    return [
        _case(m, "info", "info", cls=ce),
        _case(f"{family}/raw", "ce_default", "info", cls=ce),
        _case(m, "text_text", "predict", [pair(T[3], T[1]), pair(T[0], T[4])], cls=ce),
        _case(m, "text_image", "predict", [pair(T[0], img("odd")), pair(T[2], img("large"))], cls=ce),
        _case(m, "image_text", "predict", [pair(img("odd"), T[0])], cls=ce),
        _case(m, "text_textimage", "predict", [pair(T[0], {"text": T[2], "image": img("small")})], cls=ce),
        _case(m, "mixed_pairs_bs1", "predict",
              [pair(T[3], T[1]), pair(T[0], img("odd")), pair(img("odd"), T[0])], cls=ce, kwargs={"batch_size": 1}),
        _case(m, "mixed_pairs_bs32", "predict",
              [pair(T[3], T[1]), pair(T[0], img("odd")), pair(img("odd"), T[0])], cls=ce),
        _case(m, "single_pair", "predict", pair(T[0], img("odd")), cls=ce),
        _case(m, "prompt", "predict", [pair(T[0], img("odd"))], cls=ce, kwargs={"prompt": "Is this a cat?"}),
        _case(m, "text_video", "predict", [pair(T[0], vid("clip8"))], cls=ce, kwargs=NO_SAMPLING),
        _case(m, "rank", "rank", docs, cls=ce, kwargs={"query": T[0]}),
        _case(m, "pre_text_image", "preprocess", [pair(T[0], img("odd"))], cls=ce),
        _case(m, "pre_text_text", "preprocess", [pair(T[3], T[1])], cls=ce),
    ]


CAUSAL_QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"


def causal_cases() -> list[dict]:
    texts = list(T)
    ce = "CrossEncoder"
    pairs = [pair(T[3], T[1]), pair(T[0], T[4]), pair("is berlin in germany", T[1])]
    cases = []
    for side in ("raw-left", "raw-right"):
        m = f"causal/{side}"
        cases += [
            _case(m, "info", "info"),
            _case(m, "texts", "encode", texts),
            _case(m, "texts_bs1", "encode", texts, kwargs={"batch_size": 1}),
            _case(m, "query", "encode_query", texts[:3]),
            _case(m, "document", "encode_document", texts[:3]),
            _case(m, "prompt", "encode", texts[:3], kwargs={"prompt": CAUSAL_QUERY_PROMPT}),
            _case(m, "conversation", "encode", [{"role": "user", "content": T[0]}]),
            _case(m, "pre_texts", "preprocess", texts[:2]),
            _case(m, "pre_query", "preprocess", texts[:1], kwargs={"task": "query"}),
            _case(m, "ce_info", "info", cls=ce),
            _case(m, "ce_pairs", "predict", pairs, cls=ce),
            _case(m, "ce_rank", "rank", [T[1], T[4], T[2]], cls=ce, kwargs={"query": T[3]}),
            _case(m, "ce_pre_pair", "preprocess", [pair(T[3], T[1])], cls=ce),
        ]
    for m in ("causal/embedder-legacy", "causal/embedder-chat"):
        cases += [
            _case(m, "info", "info"),
            _case(m, "texts", "encode", texts),
            _case(m, "query", "encode_query", texts[:3]),
            _case(m, "document", "encode_document", texts[:3]),
            _case(m, "pre_texts", "preprocess", texts[:2]),
            _case(m, "pre_query_prompt", "preprocess", texts[:1], kwargs={"prompt": CAUSAL_QUERY_PROMPT, "task": "query"}),
        ]
    m = "causal/reranker"
    cases += [
        _case(m, "info", "info", cls=ce),
        _case(m, "pairs", "predict", pairs, cls=ce),
        _case(m, "pairs_prompt", "predict", pairs, cls=ce, kwargs={"prompt": "Judge relevance to a travel question"}),
        _case(m, "rank", "rank", [T[1], T[4], T[2]], cls=ce, kwargs={"query": T[3]}),
        _case(m, "pre_pair", "preprocess", [pair(T[3], T[1])], cls=ce),
    ]
    return cases


def processor_cases(family: str) -> list[dict]:
    """Plain-transformers processor outputs (torchvision backend) the torchvision-free code must reproduce."""
    raw = f"{family}/raw"
    cases = [_case(raw, f"image_processor_{n}", "image_processor", img(n)) for n in IMAGE_NAMES]
    videos = [("clip8", "array", None), ("clip5", "array", None), ("still2", "array", None), ("clip8", "meta", 4.0)]
    for name, form, fps in videos:
        for sample in (False, True):
            tag = f"{name}{'_fps4' if fps else ''}_{'sampled' if sample else 'all'}"
            cases.append(_case(raw, f"video_processor_{tag}", "video_processor", vid(name, form, fps),
                               kwargs={"do_sample_frames": sample}))
    cases.append(_case(raw, "direct", "direct", [T[0], img("odd")]))
    return cases


def all_cases() -> list[dict]:
    cases: list[dict] = []
    for family in VL_FAMILIES:
        cases += vl_embedder_cases(family) + vl_reranker_cases(family) + processor_cases(family)
    cases += causal_cases()
    ids = [case["id"] for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate case ids: {sorted(duplicates)}")
    return cases
