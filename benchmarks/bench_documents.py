"""PDF pages: render and render + embed throughput, and the memory of streaming a 500-page file (CPU).

The test PDF is generated (tests/support/pdfs.py): US Letter pages, each with 40 lines of 10-point Helvetica
and a 256×256 photo (scikit-image's astronaut), so every page has a text layer and an image to decode.

* **render** — pages per second at 100 and 150 dpi: a plain pypdfium2 loop (``page.render(scale).to_pil()``,
  the baseline) against ``omniembed.inputs.document_pages`` (progressive render under a deadline, the PDFium
  lock, text-layer extraction). Runs interleave (A B A B…); medians are reported.
* **render + embed** — ``document_pages`` streamed in batches of 16 page images into
  ``SentenceTransformer.encode``: the tiny test CLIP (32-pixel images) and a randomly initialised CLIP of
  ViT-B/32 size (224 pixels, 88M vision parameters; built once under ``benchmarks/.cache/``).
* **peak RSS** — a child process renders every page of a 500-page PDF at 150 dpi (one page alive at a time)
  from its path (an ~80 MB file, so with ``MediaLimits(max_bytes=256 MiB)``) and reports its peak resident
  memory (Linux ``VmHWM``, reset after the imports) above its resident memory before opening the file; holding
  all pages would take 500 × 1275 × 1651 × 3 bytes ≈ 3 GiB.

    python benchmarks/bench_documents.py                     # 40 pages per run, 3 repeats, 500-page RSS
    python benchmarks/bench_documents.py --pages 8 --repeats 1 --rss-pages 50 --no-vitb32   # a quick check
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test-suite's PDF writer and tiny-model builders
from common import CACHE, print_table

BATCH = 16


def make_pdf(pages: int) -> bytes:
    import numpy as np
    from PIL import Image
    from support.media import skimage_image
    from support.pdfs import Page, build_pdf

    photo = skimage_image("astronaut.png").convert("RGB").resize((256, 256), Image.BICUBIC)
    rng = np.random.default_rng(0)
    words = ["the", "of", "and", "to", "in", "is", "for", "on", "that", "with", "as", "by", "this", "from", "at", "be", "are", "data", "model", "page", "search"]
    specs = []
    for number in range(1, pages + 1):
        lines = [f"Page {number}: " + " ".join(rng.choice(words, 12))] + [
            " ".join(rng.choice(words, 14)) for _ in range(39)
        ]
        specs.append(Page(text=lines, font_size=10, image=photo, image_box=(356, 36, 220, 220)))
    return build_pdf(specs)


def direct_render(data: bytes, dpi: float) -> int:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    count = 0
    for index in range(len(pdf)):
        page = pdf[index]
        page.render(scale=dpi / 72).to_pil()
        page.close()
        count += 1
    pdf.close()
    return count


def omniembed_render(data: bytes, dpi: float) -> int:
    from omniembed.inputs import document_pages

    return sum(1 for _ in document_pages(data, dpi=dpi))


def render_and_embed(data: bytes, dpi: float, model) -> int:
    from omniembed.inputs import document_pages

    count, batch = 0, []
    for page in document_pages(data, dpi=dpi):
        batch.append(page.image)
        if len(batch) == BATCH:
            model.encode(batch, batch_size=BATCH)
            count, batch = count + len(batch), []
    if batch:
        model.encode(batch, batch_size=BATCH)
        count += len(batch)
    return count


def timed(fn, *args) -> float:
    started = time.perf_counter()
    count = fn(*args)
    return count / (time.perf_counter() - started)


def build_models(vitb32: bool) -> dict:
    from support.models import build_clip

    from omniembed import SentenceTransformer

    folders = {"tiny CLIP": CACHE / "documents" / "tiny_clip"}
    if not (folders["tiny CLIP"] / "config.json").exists():
        build_clip(folders["tiny CLIP"])
    if vitb32:
        folders["ViT-B/32 CLIP (random)"] = build_vitb32(CACHE / "documents" / "clip_vitb32_random")
    return {name: SentenceTransformer(str(folder), device="cpu") for name, folder in folders.items()}


def build_vitb32(folder: Path) -> Path:
    """A randomly initialised CLIPModel with openai/clip-vit-base-patch32's shapes (no weights download)."""
    if (folder / "config.json").exists():
        return folder
    import torch
    from support.models import _clip_tokenizer
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    tokenizer = _clip_tokenizer()
    text = {"vocab_size": len(tokenizer), "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
            "num_attention_heads": 8, "max_position_embeddings": 77, "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    vision = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
              "image_size": 224, "patch_size": 32}
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=512))
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessorPil(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}),
        tokenizer=tokenizer,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


RSS_CHILD = r"""
import json, re, sys
from omniembed.inputs import MediaLimits, document_pages
import pypdfium2, PIL.Image  # imported before the baseline, as in any long-running process

def status(key):
    return int(re.search(key + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

open("/proc/self/clear_refs", "w").write("5")  # Linux: reset the peak (VmHWM) to the current RSS
base = status("VmRSS")
# From the path: PDFium reads the file as it needs it. The file is ~80 MB, over the 64 MiB default byte cap.
pages = document_pages(sys.argv[1], dpi=float(sys.argv[2]), limits=MediaLimits(max_bytes=256 * 2**20))
count = sum(1 for page in pages)
print(json.dumps({"pages": count, "baseline_mib": base, "peak_mib": status("VmHWM")}))
"""


def peak_rss(pages: int, dpi: float) -> dict:
    path = CACHE / "documents" / f"pages_{pages}.pdf"
    if not path.exists():
        path.write_bytes(make_pdf(pages))
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(path), str(dpi)],
                         capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "file_mib": path.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss-pages", type=int, default=500)
    parser.add_argument("--no-vitb32", action="store_true", help="skip the ViT-B/32-sized model")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    (CACHE / "documents").mkdir(parents=True, exist_ok=True)

    data = make_pdf(args.pages)
    rows = []
    for dpi in (100, 150):
        direct, ours = [], []
        for _ in range(args.repeats):  # A B A B…
            direct.append(timed(direct_render, data, dpi))
            ours.append(timed(omniembed_render, data, dpi))
        rows.append((f"{dpi}", "pypdfium2 loop (baseline)", f"{statistics.median(direct):.1f}"))
        rows.append((f"{dpi}", "document_pages", f"{statistics.median(ours):.1f}"))
    print_table(f"Render only, {args.pages} Letter pages (text + photo), pages/s, median of {args.repeats}",
                rows, ("dpi", "renderer", "pages/s"))

    models = build_models(not args.no_vitb32)
    rows = []
    for name, model in models.items():
        model.encode([__import__("PIL.Image").Image.new("RGB", (64, 64))])  # warm-up
        for dpi in (100, 150):
            rates = [timed(render_and_embed, data, dpi, model) for _ in range(args.repeats)]
            rows.append((name, f"{dpi}", f"{statistics.median(rates):.1f}"))
    print_table(f"Render + embed (document_pages → encode, batches of {BATCH}), pages/s", rows,
                ("model", "dpi", "pages/s"))

    rss = peak_rss(args.rss_pages, 150)
    held = args.rss_pages * 1275 * 1651 * 3 / 2**20
    print_table(
        f"Streaming a {args.rss_pages}-page PDF at 150 dpi ({rss['file_mib']:.1f} MiB file, all pages rendered)",
        [(str(rss["pages"]), f"{rss['baseline_mib']:.0f}", f"{rss['peak_mib']:.0f}",
          f"{rss['peak_mib'] - rss['baseline_mib']:.0f}", f"{held:.0f}")],
        ("pages", "RSS before (MiB)", "peak RSS (MiB)", "growth (MiB)", "all pages held (MiB)"),
    )


if __name__ == "__main__":
    main()
