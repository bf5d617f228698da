"""Retrieval with encode_query / encode_document: text queries against a corpus that mixes images and passages.

    python examples/retrieval_query_document.py [MODEL] [--query-prompt PROMPT]

MODEL is a hub id (default: openai/clip-vit-base-patch32) or a local folder. Queries go through ``encode_query``
(the model's ``query`` prompt, or --query-prompt: a CLIP-style "a photo of " for dual encoders, an instruction
for VLM embedders, where it becomes the system message), the corpus through ``encode_document``. Models with a
Router pick their query and document routes from the same calls.
"""

from __future__ import annotations

import argparse
import sys

from PIL import Image, ImageDraw

from omniembed import SentenceTransformer
from omniembed.errors import ModelLoadError
from omniembed.util import semantic_search


def picture(shape: str, colour: str) -> Image.Image:
    img = Image.new("RGB", (224, 224), "white")
    draw = ImageDraw.Draw(img)
    (draw.ellipse if shape == "circle" else draw.rectangle)((40, 40, 184, 184), fill=colour)
    return img


CORPUS = [
    picture("square", "red"),
    picture("circle", "green"),
    "Berlin is the capital and largest city of Germany.",
    "A cheetah is running behind its prey.",
    picture("circle", "blue"),
]
QUERIES = ["a red square", "a blue circle", "how many people live in berlin", "a fast animal"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="openai/clip-vit-base-patch32")
    parser.add_argument("--query-prompt", default=None, help="instruction prepended to queries")
    args = parser.parse_args()

    model = SentenceTransformer(args.model)
    print(f"Loaded {args.model}: modalities={model.modalities}, prompts={model.prompts}")
    prompt = args.query_prompt if args.query_prompt is not None else (model.prompts.get("query") or None)
    query_embeddings = model.encode_query(QUERIES, prompt=prompt, convert_to_tensor=True)
    document_embeddings = model.encode_document(CORPUS, convert_to_tensor=True)

    labels = [c if isinstance(c, str) else f"<image {i}>" for i, c in enumerate(CORPUS)]
    for query, hits in zip(QUERIES, semantic_search(query_embeddings, document_embeddings, top_k=3)):
        print(f"\n{query!r}")
        for hit in hits:
            print(f"  {hit['score']:.3f}  {labels[hit['corpus_id']]}")


if __name__ == "__main__":
    try:
        main()
    except ModelLoadError as exc:  # e.g. offline: one line that says what to pass instead, not a traceback
        sys.exit(f"retrieval_query_document.py: {str(exc).split('. ')[0]}. Pass a local folder instead: "
                 "python examples/retrieval_query_document.py MODEL_FOLDER (a CLIP-like or VLM-embedder folder saved with save_pretrained or model.save()).")
