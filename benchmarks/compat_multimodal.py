"""Multimodal folders across libraries: CLIP (text + image) and the real Whisper tiny.en encoder (audio).

    python benchmarks/compat_multimodal.py      # needs the reference virtualenv (make bench-ref)

* CLIP: each library loads the raw Hugging Face folder, saves it in the reference's format, and the other
  library loads that save; all four embeddings of the same texts and PNG images must agree.
* Whisper: the reference pools the padded 30 s window; omniembed pools valid frames by default (a
  deliberate difference, docs/differences.md §1) and must equal the reference exactly with
  ``processing_kwargs={"audio": {"pool_valid_frames": False}}``.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import emit, print_table, reference_python, run_side

TEXTS = ["a photo of a cat", "a photo of a dog", "a rocket launching into the sky"]


def prepare(work: Path) -> dict:
    import numpy as np
    from PIL import Image
    from support.models import build_clip, whisper_tiny_en_cached

    rng = np.random.default_rng(0)
    images = []
    for i, size in enumerate([(64, 48), (40, 90), (128, 128)]):
        path = work / f"image{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        images.append(str(path))
    speech = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "tests/support/speech").glob("*.wav"))
    return {"clip": str(build_clip(work / "clip")), "whisper": str(Path(whisper_tiny_en_cached()) / "encoder"),
            "images": images, "speech": speech}


def side(which: str, task: str, folder: str, out: str, save_to: str | None, extra: list[str]) -> None:
    import numpy as np

    if which == "omniembed":
        from omniembed import SentenceTransformer
    else:
        from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(folder, device="cpu")
    if save_to:
        model.save(save_to)
    if task == "clip":
        emb = np.concatenate([model.encode(TEXTS), model.encode(extra)])
    else:
        import wave

        clips = []
        for path in extra:
            with wave.open(path) as handle:
                pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
            clips.append({"array": pcm.astype(np.float32) / 32768.0, "sampling_rate": 16000})
        kwargs = {}
        if which == "omniembed" and task == "whisper-padded":
            kwargs["processing_kwargs"] = {"audio": {"pool_valid_frames": False}}
        emb = model.encode(clips, **kwargs)
    np.save(out, emb)
    emit({"shape": list(emb.shape)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--task")
    parser.add_argument("--folder")
    parser.add_argument("--out")
    parser.add_argument("--save-to")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    if args.side:
        return side(args.side, args.task, args.folder, args.out, args.save_to, args.extra)

    import numpy as np

    ref_python = reference_python()
    if ref_python is None:
        sys.exit("Reference virtualenv not found: run `make bench-ref` first.")
    script, work = Path(__file__).resolve(), Path(tempfile.mkdtemp(prefix="omniembed-compat-mm-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # saved folders and arrays: gone when the run ends
    inputs = prepare(work)
    pythons = {"omniembed": sys.executable, "reference": ref_python}

    def run(which, task, folder, tag, save_to=None, extra=()):
        args = ["--side", which, "--task", task, "--folder", folder, "--out", str(work / f"{tag}.npy")]
        run_side(pythons[which], script, args + (["--save-to", save_to] if save_to else []) + ["--", *extra])
        return np.load(work / f"{tag}.npy")

    rows = []
    ref_raw = run("reference", "clip", inputs["clip"], "ref_raw", str(work / "clip_saved_by_ref"), inputs["images"])
    omni_raw = run("omniembed", "clip", inputs["clip"], "omni_raw", str(work / "clip_saved_by_omni"), inputs["images"])
    ref_of_omni = run("reference", "clip", str(work / "clip_saved_by_omni"), "ref_of_omni", extra=inputs["images"])
    omni_of_ref = run("omniembed", "clip", str(work / "clip_saved_by_ref"), "omni_of_ref", extra=inputs["images"])
    rows.append(("CLIP raw folder: omniembed vs reference", f"{np.abs(omni_raw - ref_raw).max():.2e}"))
    rows.append(("CLIP saved by omniembed, loaded by reference", f"{np.abs(ref_of_omni - ref_raw).max():.2e}"))
    rows.append(("CLIP saved by reference, loaded by omniembed", f"{np.abs(omni_of_ref - ref_raw).max():.2e}"))

    ref_w = run("reference", "whisper", inputs["whisper"], "ref_w", extra=inputs["speech"])
    padded = run("omniembed", "whisper-padded", inputs["whisper"], "omni_w_padded", extra=inputs["speech"])
    valid = run("omniembed", "whisper", inputs["whisper"], "omni_w_valid", extra=inputs["speech"])
    cos = (valid * ref_w).sum(1) / np.linalg.norm(valid, axis=1) / np.linalg.norm(ref_w, axis=1)
    rows.append(("Whisper encoder, pool_valid_frames=False vs reference", f"{np.abs(padded - ref_w).max():.2e}"))
    rows.append(("Whisper encoder, default (valid frames) vs reference", f"cosine {cos.min():.3f}–{cos.max():.3f}"))
    print_table("Multimodal cross-library compatibility", rows, ("case", "max |diff|"))


if __name__ == "__main__":
    main()
