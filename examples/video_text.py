"""Video ↔ text with X-CLIP: frames are decoded and sampled with PyAV (no torchvision) and go through the model's
image processor frame by frame.

    python examples/video_text.py [MODEL] [VIDEO ...]

MODEL is a hub id (default: microsoft/xclip-base-patch32) or a local folder; VIDEO is a file or URL (default: two
generated clips, a square moving right and a flashing screen, written as in-memory frame arrays).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from omniembed import SentenceTransformer
from omniembed.errors import ModelLoadError

CAPTIONS = ["a square moving to the right", "a screen flashing on and off", "people dancing at a party"]


def generated_videos() -> dict[str, np.ndarray]:
    moving = np.full((16, 96, 96, 3), 255, np.uint8)
    for i in range(16):
        moving[i, 32:64, 4 * i: 4 * i + 32] = (200, 30, 30)
    flashing = np.zeros((16, 96, 96, 3), np.uint8)
    flashing[::2] = 255
    return {"moving square": moving, "flashing screen": flashing}


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "microsoft/xclip-base-patch32"
    videos: dict[str, object] = {path: path for path in argv[1:]} or dict(generated_videos())
    model = SentenceTransformer(name)
    print(f"Loaded {name}: modalities={model.modalities}, dimension={model.get_embedding_dimension()}")

    # A bare (frames, H, W, 3) array is one video; {"video": ...} says so explicitly.
    video_embeddings = model.encode([{"video": v} for v in videos.values()], convert_to_tensor=True)
    text_embeddings = model.encode(CAPTIONS, convert_to_tensor=True)
    scores = model.similarity(video_embeddings, text_embeddings)
    print(f"\nSimilarity ({model.similarity_fn_name}), videos x captions:")
    for label, row in zip(videos, scores):
        print(f"  {os.path.basename(label)[-24:]:>24} " + " ".join(f"{s:6.3f}" for s in row.tolist())
              + f"   best: {CAPTIONS[int(row.argmax())]!r}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ModelLoadError as exc:  # e.g. offline: one line that says what to pass instead, not a traceback
        sys.exit(f"video_text.py: {str(exc).split('. ')[0]}. Pass a local folder instead: "
                 "python examples/video_text.py MODEL_FOLDER [VIDEO ...] (an X-CLIP folder saved with save_pretrained or model.save()).")
