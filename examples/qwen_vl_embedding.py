"""The announcement's first flow: a Qwen3-VL embedder puts image URLs, images and texts into one space.

    python examples/qwen_vl_embedding.py [MODEL] [--max-pixels N] [--bf16] [IMAGE ...]

MODEL is a hub id (default: Qwen/Qwen3-VL-Embedding-2B, about 8 GB; downloaded on first use) or a local folder in
the same shape (Qwen2-VL / Qwen2.5-VL / Qwen3-VL, raw or saved by sentence-transformers). IMAGE: paths or URLs
(default: generated pictures). No torchvision needed. ``--max-pixels`` caps each image's resolution (fewer visual
tokens, faster); ``--bf16`` loads the weights in bfloat16 (a GPU feature: on CPU it is much slower than float32).

It prints text x image similarities, then runs query/document retrieval with the model's prompts:
``encode_query`` adds the ``query`` instruction (as the chat's system message), ``encode_document`` the document one.
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageDraw

from omniembed import SentenceTransformer
from omniembed.util import semantic_search

CAPTIONS = ["a red square", "a green circle", "a blue triangle"]


def picture(shape: str, colour: str) -> Image.Image:
    img = Image.new("RGB", (224, 224), "white")
    draw = ImageDraw.Draw(img)
    if shape == "triangle":
        draw.polygon([(112, 30), (30, 194), (194, 194)], fill=colour)
    else:
        (draw.ellipse if shape == "circle" else draw.rectangle)((40, 40, 184, 184), fill=colour)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="Qwen/Qwen3-VL-Embedding-2B")
    parser.add_argument("images", nargs="*")
    parser.add_argument("--max-pixels", type=int, default=None)
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    model = SentenceTransformer(
        args.model,
        model_kwargs={"torch_dtype": torch.bfloat16} if args.bf16 else None,
        processor_kwargs={"max_pixels": args.max_pixels} if args.max_pixels else None,
    )
    print(f"Loaded {args.model}: modalities={model.modalities}, dimension={model.get_embedding_dimension()}")

    images = list(args.images) or [picture("square", "red"), picture("circle", "green"), picture("triangle", "blue")]
    names = [str(i)[-30:] if isinstance(i, str) else f"generated {CAPTIONS[n].split(' ', 1)[1]}" for n, i in enumerate(images)]
    image_emb = model.encode(images, convert_to_tensor=True)
    text_emb = model.encode(CAPTIONS, convert_to_tensor=True)
    print("\nimages x captions (cosine):")
    for name, row in zip(names, model.similarity(image_emb, text_emb)):
        print(f"  {name:>30} " + " ".join(f"{s:6.3f}" for s in row.tolist()) + f"   best: {CAPTIONS[int(row.argmax())]!r}")

    # one call, mixed inputs: a text, an image, and an image with its caption in one chat message
    mixed = model.encode(["a red square", images[0], {"text": "a green circle", "image": images[1]}])
    print(f"\nMixed call: {mixed.shape[0]} embeddings of dimension {mixed.shape[1]}")

    corpus = [images[0], "Berlin is the capital of Germany.", images[1], "Paris is the capital of France."]
    labels = [names[0], "passage: Berlin", names[1], "passage: Paris"]
    queries = ["a green circle", "What is the capital of Germany?"]
    hits = semantic_search(model.encode_query(queries, convert_to_tensor=True),
                           model.encode_document(corpus, convert_to_tensor=True), top_k=2)
    print("\nRetrieval (encode_query / encode_document):")
    for query, found in zip(queries, hits):
        print(f"  {query!r} -> " + ", ".join(f"{labels[h['corpus_id']]!r} ({h['score']:.3f})" for h in found))


if __name__ == "__main__":
    main()
