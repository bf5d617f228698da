"""Text ↔ image similarity with a CLIP-family model: embed captions and images into one space and compare them.

    python examples/text_image_similarity.py [MODEL] [IMAGE ...]

MODEL is a hub id (default: openai/clip-vit-base-patch32) or a local folder; IMAGE is a path or URL (default: photos
bundled with scikit-image when it is installed, else generated pictures). Works with CLIP, SigLIP/SigLIP2,
Chinese-CLIP, ALIGN and VLM embedders alike.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from omniembed import SentenceTransformer
from omniembed.errors import ModelLoadError

CAPTIONS = ["an astronaut in a space suit", "a cup of coffee on a table", "a cat", "a red square", "a green circle"]


def default_images() -> list:
    """scikit-image's bundled photos (no download), else two generated pictures."""
    try:
        import skimage

        folder = os.path.join(os.path.dirname(skimage.__file__), "data")
        return [os.path.join(folder, name) for name in ("astronaut.png", "coffee.png", "chelsea.png")]
    except ImportError:
        from PIL import Image, ImageDraw

        square = Image.new("RGB", (224, 224), "white")
        ImageDraw.Draw(square).rectangle((40, 40, 184, 184), fill="red")
        circle = Image.new("RGB", (224, 224), "white")
        ImageDraw.Draw(circle).ellipse((40, 40, 184, 184), fill="green")
        return [square, circle]


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "openai/clip-vit-base-patch32"
    images = argv[1:] or default_images()
    model = SentenceTransformer(name)
    print(f"Loaded {name}: modalities={model.modalities}, dimension={model.get_embedding_dimension()}")

    text_embeddings = model.encode(CAPTIONS, convert_to_tensor=True)
    image_embeddings = model.encode(images, convert_to_tensor=True)
    scores = model.similarity(image_embeddings, text_embeddings)

    labels = [os.path.basename(i) if isinstance(i, str) else f"image {n}" for n, i in enumerate(images)]
    print(f"\nSimilarity ({model.similarity_fn_name}), images x captions:")
    for label, row in zip(labels, scores):
        best = int(np.argmax(row.numpy()))
        print(f"  {label:<20} " + " ".join(f"{s:6.3f}" for s in row.tolist()) + f"   best: {CAPTIONS[best]!r}")

    # one call may mix captions and images: items are grouped by modality and returned in input order
    mixed = model.encode([CAPTIONS[0], images[0]], convert_to_tensor=True)
    print(f"\nMixed call: caption 0 vs image 0 = {model.similarity(mixed[:1], mixed[1:]).item():.3f}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ModelLoadError as exc:  # e.g. offline: one line that says what to pass instead, not a traceback
        sys.exit(f"text_image_similarity.py: {str(exc).split('. ')[0]}. Pass a local folder instead: "
                 "python examples/text_image_similarity.py MODEL_FOLDER [IMAGE ...] (a CLIP, SigLIP or ALIGN folder saved with save_pretrained or model.save()).")
