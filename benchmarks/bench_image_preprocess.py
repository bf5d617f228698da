"""Image decode + CLIP preprocessing throughput: the reference path vs omniembed's loader (CPU).

64 synthetic ~3000×2000 JPEG photos (scikit-image's astronaut and coffee, upscaled, with sensor-like noise,
quality 90; generated once under ``benchmarks/.cache/image_preprocess/``) go through transformers'
``CLIPImageProcessor()`` with its defaults (shortest side → 224 bicubic, centre crop 224, rescale, normalise;
the PIL backend, as torchvision is absent here). The processor always runs on the whole batch in the main
thread; what changes is how the images are decoded:

* **reference**: ``transformers.image_utils.load_image(path)`` one after another (what sentence-transformers
  does through the processor: ``PIL.Image.open`` + ``exif_transpose`` + ``convert("RGB")``);
* **omniembed**: ``omniembed.inputs.load_image(path, target_size=224)`` in a ``ThreadPoolExecutor``: JPEG draft
  mode decodes at 1/4 scale (750×500, keeping ≥ 2 × 224), and Pillow releases the GIL while decoding;
* the draft and thread contributions separately (draft off with threads; draft on with one worker).

The last column is the largest difference of the processed tensors from the reference, in normalised units and
in 0–255 pixel levels (× std × 255).

    python benchmarks/bench_image_preprocess.py                 # 64 images, workers = CPU count
    python benchmarks/bench_image_preprocess.py --workers 4 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, print_table

SIZE = (3000, 2000)


def make_photos(n: int) -> list[Path]:
    """``n`` JPEGs of 3000×2000, cached: upscaled astronaut/coffee plus Gaussian noise (σ = 6 levels)."""
    import numpy as np
    import skimage
    from PIL import Image

    folder = CACHE / "image_preprocess"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo_{i:03d}.jpg" for i in range(n)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        data = Path(skimage.__file__).parent / "data"
        sources = [
            Image.open(data / name).convert("RGB").resize(SIZE, Image.BICUBIC)
            for name in ("astronaut.png", "coffee.png")
        ]
        for path in missing:
            index = int(path.stem.split("_")[1])
            rng = np.random.default_rng(index)
            base = np.asarray(sources[index % 2], np.int16)
            noisy = np.clip(base + rng.normal(0, 6, base.shape).round(), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(path, quality=90)
    return paths


def reference_decode(paths: list[Path], workers: int) -> list:
    from transformers.image_utils import load_image

    return [load_image(str(p)) for p in paths]


def omniembed_decode(paths: list[Path], workers: int, draft: bool) -> list:
    from omniembed.inputs import load_image

    target = 224 if draft else None
    if workers <= 1:
        return [load_image(p, target_size=target) for p in paths]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: load_image(p, target_size=target), paths))


def run(variant, paths, processor, workers: int, repeats: int):
    """Best-of-``repeats`` wall time for decode + batch preprocessing, and the processed tensor."""
    timings, pixels = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        images = variant(paths, workers)
        pixels = processor(images=images, return_tensors="np")["pixel_values"]
        timings.append(time.perf_counter() - start)
    return min(timings), statistics.median(timings), pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    try:  # the class CLIPImageProcessor() falls back to without torchvision; named directly, always PIL
        from transformers import CLIPImageProcessorPil as Processor
    except ImportError:  # older transformers: CLIPImageProcessor *is* the PIL implementation
        from transformers import CLIPImageProcessor as Processor

    paths = make_photos(args.n)
    processor = Processor()
    for p in paths:  # warm the page cache so no variant pays for disk reads
        p.read_bytes()

    variants = [
        ("reference: transformers load_image, 1 thread", reference_decode, 1),
        (f"omniembed: draft + {args.workers} threads", lambda ps, w: omniembed_decode(ps, w, True), args.workers),
        (f"omniembed: no draft, {args.workers} threads", lambda ps, w: omniembed_decode(ps, w, False), args.workers),
        ("omniembed: draft, 1 thread", lambda ps, w: omniembed_decode(ps, w, True), 1),
    ]
    std = np.asarray(processor.image_std, np.float32)[None, :, None, None]
    rows, reference_pixels, reference_rate = [], None, None
    for name, variant, workers in variants:
        best, median, pixels = run(variant, paths, processor, workers, args.repeats)
        rate = args.n / best
        if reference_pixels is None:
            reference_pixels, reference_rate = pixels, rate
        diff = np.abs(pixels - reference_pixels)
        levels = diff * std * 255
        rows.append(
            (
                name,
                f"{rate:.1f}",
                f"{args.n / median:.1f}",
                f"{rate / reference_rate:.2f}x",
                f"{diff.max():.4f} ({levels.max():.1f} lv)",
                f"{levels.mean():.3f} lv",
            )
        )
    print_table(
        f"{args.n} JPEGs of {SIZE[0]}x{SIZE[1]} → CLIPImageProcessor 224 (PIL backend), {os.cpu_count()} CPUs, "
        f"best of {args.repeats}",
        rows,
        ("variant", "img/s best", "img/s median", "vs reference", "max |Δ| vs reference", "mean |Δ|"),
    )


if __name__ == "__main__":
    main()
