"""Audio similarity: embed speech and non-speech clips, compare them (and captions, when the model embeds text).

    python examples/audio_similarity.py [MODEL] [AUDIO ...]

MODEL is a hub id (default: laion/clap-htsat-unfused, audio + text) or a local folder: an audio encoder such as a
Whisper *encoder* or Wav2Vec2 works too (audio only; embeddings pooled over the frames that hold real audio, not
Whisper's 30 s of padding). AUDIO: files or URLs, compared with three generated clips (a tone, a chirp, noise).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from omniembed import SentenceTransformer
from omniembed.errors import ModelLoadError

RATE = 16_000
CAPTIONS = ["a pure tone", "a rising whistle", "static noise", "a person speaking"]


def generated_clips() -> dict[str, dict]:
    t = np.arange(2 * RATE) / RATE
    return {
        "tone 440 Hz": {"array": 0.5 * np.sin(2 * np.pi * 440 * t), "sampling_rate": RATE},
        "chirp": {"array": 0.5 * np.sin(2 * np.pi * (200 + 600 * t) * t), "sampling_rate": RATE},
        "noise": {"array": 0.1 * np.random.default_rng(0).standard_normal(2 * RATE), "sampling_rate": RATE},
    }


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "laion/clap-htsat-unfused"
    clips = {path: path for path in argv[1:]}
    clips.update({k: {**v, "array": v["array"].astype(np.float32)} for k, v in generated_clips().items()})
    model = SentenceTransformer(name)
    print(f"Loaded {name}: modalities={model.modalities}, dimension={model.get_embedding_dimension()}")

    labels = list(clips)
    embeddings = model.encode(list(clips.values()), convert_to_tensor=True)
    scores = model.similarity(embeddings, embeddings)
    print(f"\nAudio x audio ({model.similarity_fn_name}):")
    for label, row in zip(labels, scores):
        print(f"  {os.path.basename(label)[-24:]:>24} " + " ".join(f"{s:6.3f}" for s in row.tolist()))

    if model.supports("text"):
        text_scores = model.similarity(embeddings, model.encode(CAPTIONS, convert_to_tensor=True))
        print("\nAudio x captions:")
        for label, row in zip(labels, text_scores):
            print(f"  {os.path.basename(label)[-24:]:>24} " + " ".join(f"{s:6.3f}" for s in row.tolist())
                  + f"   best: {CAPTIONS[int(row.argmax())]!r}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ModelLoadError as exc:  # e.g. offline: one line that says what to pass instead, not a traceback
        sys.exit(f"audio_similarity.py: {str(exc).split('. ')[0]}. Pass a local folder instead: "
                 "python examples/audio_similarity.py MODEL_FOLDER [AUDIO ...] (offline, the Whisper encoder make installs: the folder printed by python -c \"from omniembed.serialization.ctranslate2 import whisper_tiny_en; print(whisper_tiny_en() / 'encoder')\").")
