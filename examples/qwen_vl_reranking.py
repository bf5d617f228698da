"""The announcement's reranker flow: a Qwen-VL reranker scores a query against documents that mix text and images.

    python examples/qwen_vl_reranking.py [MODEL] [--max-pixels N]

MODEL is a hub id (default: Qwen/Qwen3-VL-Reranker-2B; downloaded on first use) or a local folder in the same
shape: an any-to-any Transformer + LogitScore(yes, no) whose chat template (often a named ``reranker`` template,
chosen by the saved ``processing_kwargs``) renders the query and the document. No torchvision needed.

``predict`` scores (query, document) pairs, where a document is a text, an image, or ``{"text", "image"}``;
``rank`` sorts a corpus for one query.
"""

from __future__ import annotations

import argparse

from PIL import Image, ImageDraw

from omniembed import CrossEncoder


def picture(shape: str, colour: str) -> Image.Image:
    img = Image.new("RGB", (224, 224), "white")
    draw = ImageDraw.Draw(img)
    (draw.ellipse if shape == "circle" else draw.rectangle)((40, 40, 184, 184), fill=colour)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="Qwen/Qwen3-VL-Reranker-2B")
    parser.add_argument("--max-pixels", type=int, default=None)
    args = parser.parse_args()
    model = CrossEncoder(args.model, processor_kwargs={"max_pixels": args.max_pixels} if args.max_pixels else None)
    print(f"Loaded {args.model}: modalities={model.modalities}")

    query = "a red square"
    documents = [
        "A red square drawn on a white background.",
        picture("square", "red"),
        {"text": "A shape on white paper.", "image": picture("circle", "green")},
        "Berlin is the capital of Germany.",
    ]
    labels = ["text: red square", "image: red square", "text+image: green circle", "text: Berlin"]
    scores = model.predict([(query, doc) for doc in documents])
    print(f"\npredict({query!r}, document):")
    for label, score in zip(labels, scores):
        print(f"  {label:>26}: {float(score):.4f}")
    print("\nrank:")
    for hit in model.rank(query, documents):
        print(f"  {labels[hit['corpus_id']]:>26}: {hit['score']:.4f}")


if __name__ == "__main__":
    main()
