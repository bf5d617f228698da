"""A folder of PDFs for the page-level index tests: a 12-page document on unrelated topics (page 7 is about
volcanoes), a 3-page numbered one, a 3-page one of photos without text, a truncated PDF and a text note."""

from __future__ import annotations

from pathlib import Path

from support.pdfs import Page, build_pdf, numbered_pages, topic_pages

__all__ = ["PHOTOS", "VOLCANO_QUERY", "photo_pages", "write_pdf_folder"]

# The pictures of photos.pdf, one per page: pages that look different to a tiny image model (text pages do not).
PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png")

# Paraphrases page 7 of the topics document ("Volcanic eruptions release ash clouds that disrupt air travel.").
VOLCANO_QUERY = "flights were cancelled because of the ash from an erupting volcano"


def write_pdf_folder(folder: str | Path) -> dict[str, str]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "topics.pdf").write_bytes(build_pdf(topic_pages()))
    (folder / "numbered.pdf").write_bytes(build_pdf(numbered_pages(3)))
    (folder / "photos.pdf").write_bytes(build_pdf(photo_pages()))
    (folder / "broken.pdf").write_bytes(build_pdf(numbered_pages(2))[:300])
    (folder / "note.txt").write_text("Pancake recipe: whisk flour, eggs and milk, then fry in butter.")
    paths = {p.name: str(p.resolve()) for p in folder.iterdir()}
    paths["."] = str(folder.resolve())
    return paths


def photo_pages() -> list[Page]:
    from support.media import skimage_image

    return [Page(image=skimage_image(name).convert("RGB").resize((128, 128)), image_box=(56, 156, 500, 500))
            for name in PHOTOS]
