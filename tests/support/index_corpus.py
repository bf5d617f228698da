"""Models and a media folder for the index/search tests, built once per test session (idempotent builders).

* :func:`build_omni_model` — one SentenceTransformer for all four modalities: a Router whose text route is the
  REAL all-MiniLM-L6-v2 (so text search is meaningful) and whose image, audio and video routes are tiny random
  CLIP, CLAP and X-CLIP towers projected to 384-d by a Dense layer; L2-normalised.
* :func:`build_mixed_reranker` — a tiny LLaVA "yes/no" CrossEncoder (text and image documents).
* :func:`write_media_folder` — text notes, photos (one without extension), audio, video, broken and ignored
  files.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["EMBEDDED", "FAILED", "NOTES", "build_mixed_reranker", "build_omni_model", "omni_model_path", "write_media_folder"]

# Text files of the corpus: name → content. Queries in the tests are written to match exactly one of them.
NOTES = {
    "pancakes.txt": "Pancake recipe: whisk flour, eggs and milk into a batter, then fry in butter until golden.",
    "berlin.md": "# Berlin\n\nBerlin is the capital of Germany, with about 3.7 million inhabitants.",
    "guitar.txt": "To tune a guitar, match each string to the reference pitch, starting with the low E string.",
    "deep/nested/taxes.md": "Tax return checklist: income statements, receipts for deductions, bank interest.",
    "weather.rst": "Tomorrow will be sunny and warm, with light winds from the south.",
}

# What indexing the corpus must give: the files embedded (names relative to the folder) and those that fail.
EMBEDDED = sorted([*NOTES, "photos/cat.jpg", "photos/coffee.png", "photos/astronaut_no_extension",
                   "photos/noise.webp", "sounds/tone.wav", "sounds/hiss.flac", "clips/count.mp4"])
FAILED = {"broken/garbage.jpg": "not a valid image", "broken/truncated.png": "truncated",
          "broken/not_utf8.txt": "not UTF-8 text"}


def _done(folder: Path) -> bool:
    return (folder / ".complete").is_file()


def _mark(folder: Path) -> Path:
    (folder / ".complete").write_text("ok")
    return folder


def build_omni_model(folder: str | Path) -> Path:
    """Build (once) and save the four-modality Router model described in the module docstring."""
    folder = Path(folder)
    if _done(folder):
        return folder
    import torch

    from omniembed import SentenceTransformer
    from omniembed.modules import Dense, Normalize, Router, Transformer
    from support.av_models import build_clap, build_xclip
    from support.models import build_clip, minilm_path

    parts = folder / "parts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clip, clap, xclip = build_clip(parts / "clip"), build_clap(parts / "clap"), build_xclip(parts / "xclip")

        def tower(path: Path, modality: str, method: str, seed: int) -> list:
            torch.manual_seed(seed)
            config = {modality: {"method": method, "method_output_name": "pooler_output"}}
            return [Transformer(str(path), modality_config=config, module_output_name="sentence_embedding"),
                    Dense(24, 384)]

        text = list(SentenceTransformer(str(minilm_path()), device="cpu"))
        router = Router({"text": text, "image": tower(clip, "image", "get_image_features", 1),
                         "audio": tower(clap, "audio", "get_audio_features", 2),
                         "video": tower(xclip, "video", "get_video_features", 3)})
        model = SentenceTransformer(modules=[router, Normalize()], device="cpu")
        model.save(str(folder / "model"))
    return _mark(folder)


def omni_model_path(folder: str | Path) -> str:
    return str(build_omni_model(folder) / "model")


def build_mixed_reranker(folder: str | Path) -> str:
    """A tiny LLaVA reranker (Transformer "any-to-any" + LogitScore yes/no) saved as a CrossEncoder folder."""
    folder = Path(folder)
    target = folder / "reranker"
    if _done(folder):
        return str(target)
    from omniembed import CrossEncoder
    from omniembed.modules import LogitScore, Transformer
    from support.models import build_llava

    logits = {"method": "forward", "method_output_name": "logits"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        llava = build_llava(folder / "llava")
        transformer = Transformer(str(llava), transformer_task="any-to-any", module_output_name="causal_logits",
                                  modality_config={"text": logits, "image": logits,
                                                   "message": {**logits, "format": "structured"}})
        tokenizer = transformer.tokenizer
        score = LogitScore(tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no"))
        CrossEncoder(modules=[transformer, score], device="cpu").save(str(target))
    _mark(folder)
    return str(target)


def write_media_folder(folder: str | Path) -> dict[str, str]:
    """Write the test corpus into ``folder``; returns name → absolute path (broken and ignored files too)."""
    from PIL import Image

    from support.media import encode_audio, encode_image, encode_video, index_frame, noise, sine, skimage_image

    folder = Path(folder)
    paths: dict[str, str] = {}

    def put(name: str, data: bytes | str) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        paths[name] = os.path.abspath(path)

    for name, text in NOTES.items():
        put(name, text)
    cat = skimage_image("chelsea.png").convert("RGB")
    put("photos/cat.jpg", encode_image(cat, "JPEG", quality=90))
    put("photos/coffee.png", encode_image(skimage_image("coffee.png").convert("RGB").resize((200, 150)), "PNG"))
    put("photos/astronaut_no_extension", encode_image(skimage_image("astronaut.png").resize((128, 128)), "PNG"))
    rng = np.random.default_rng(7)
    put("photos/noise.webp", encode_image(Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)), "WEBP"))
    put("sounds/tone.wav", encode_audio(sine(440, 1.0, 16_000), 16_000, "wav"))
    put("sounds/hiss.flac", encode_audio(noise(1.5, 22_050, seed=3), 22_050, "flac"))
    put("clips/count.mp4", encode_video((index_frame(i) for i in range(24)), fps=8))
    put("broken/garbage.jpg", b"this is not a jpeg at all")
    put("broken/truncated.png", encode_image(cat.resize((64, 64)), "PNG")[:300])
    put("broken/not_utf8.txt", b"caf\xe9 \xff\xfe cr\xe8me " * 4)
    put("ignored/data.json", '{"not": "indexed"}')
    put("ignored/.hidden.txt", "hidden notes are skipped")
    return paths
