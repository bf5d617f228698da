"""PDFs and encode(): detection, the refusal that says how to embed pages, the one-page opt-in
(DocumentOptions), page embeddings equal to embeddings of the rendered images (tiny CLIP), and the real
MiniLM finding page 7 by its text layer."""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import pypdfium2
import pytest
from support.pdfs import TOPICS, Page, build_pdf, numbered_pages, topic_pages

from omniembed import SentenceTransformer
from omniembed.errors import MediaDecodeError, UnsupportedInputError, UnsupportedModalityError
from omniembed.inputs import (
    DocumentOptions,
    MediaOptions,
    document_pages,
    infer_modality,
    load_item,
)
from omniembed.inputs.sniff import sniff_media

FIRST = MediaOptions(document=DocumentOptions(page="first", dpi=40))


def direct_render(data: bytes, number: int, scale: float):
    pdf = pypdfium2.PdfDocument(data)
    try:
        return pdf[number - 1].render(scale=scale).to_pil()
    finally:
        pdf.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from support.models import build_clip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        folder = build_clip(tmp_path_factory.mktemp("clip"))
        return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> tuple[str, bytes]:
    """Three visually different pages (big text, a black box, a rotated page), as a file and as bytes."""
    data = build_pdf([
        Page(text=["ALPHA"], font_size=120),
        Page(rects=[(100, 100, 400, 600)]),
        Page(text=["rotated"], rotate=90, font_size=80),
    ])
    path = tmp_path_factory.mktemp("docs") / "deck.pdf"
    path.write_bytes(data)
    return str(path), data


# ---------------------------------------------------------------------------------------------- detection
def test_pdfs_are_detected_by_content_and_by_name(deck, tmp_path):
    path, data = deck
    no_extension = tmp_path / "scan"
    no_extension.write_bytes(data)
    import pathlib

    assert sniff_media(data) == ("document", "pdf")
    for item in (data, bytearray(data), pathlib.Path(path), path, str(no_extension), io.BytesIO(data),
                 "https://example.com/files/deck.pdf?version=2", "data:application/pdf;base64,JVBERi0="):  # fmt: skip
        assert infer_modality(item) == "document", item
        assert infer_modality(item, ["text", "image"]) == "image", item  # a page image, for an image model


def test_text_only_models_keep_the_reference_rule_for_strings(deck):
    path, data = deck
    # The reference embeds "deck.pdf" as text; a text-only model still does.
    assert infer_modality(path, ["text"]) == "text"
    assert infer_modality("https://example.com/deck.pdf", ["text"]) == "text"
    with pytest.raises(UnsupportedModalityError, match="embed the text layer of each page"):
        infer_modality(data, ["text"])  # bytes are never text


def test_model_supports_documents_when_it_takes_images(clip, minilm):
    assert clip.supports("document") and not minilm.supports("document")


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return SentenceTransformer(minilm_dir, device="cpu")


# ------------------------------------------------------------------------------------ encode() and a PDF
def test_encode_refuses_a_whole_document_and_says_how_to_embed_pages(clip, deck):
    path, _ = deck
    with pytest.raises(UnsupportedInputError) as err:
        clip.encode(["a cat", path])
    message = str(err.value)
    assert message.startswith("Item 1 (") and "deck.pdf" in message
    assert "document_pages" in message and "DocumentOptions(page='first')" in message
    assert isinstance(err.value, ValueError)


def test_on_error_skip_keeps_the_other_rows(clip, deck):
    path, data = deck
    first = direct_render(data, 1, 40 / 72)
    emb, failures = clip.encode([first, path, "a cat"], on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [1] and "document_pages" in failures[0].reason
    assert np.isnan(emb[1]).all() and not np.isnan(emb[[0, 2]]).any()
    np.testing.assert_allclose(emb[0], clip.encode(first), atol=1e-6)


def test_opt_in_embeds_the_chosen_page(clip, deck):
    path, data = deck
    for page, options in ((1, FIRST), (3, MediaOptions(document=DocumentOptions(page=3, dpi=40)))):
        expected = clip.encode(direct_render(data, page, 40 / 72))
        for item in (path, data, io.BytesIO(data), {"image": path}):
            got = clip.encode(item, media=options)
            np.testing.assert_allclose(got, expected, atol=1e-6)
    # The pages differ, so embedding "the first page" is not an accident of every page looking alike.
    assert not np.allclose(clip.encode(path, media=FIRST), clip.encode(data, media=MediaOptions(
        document=DocumentOptions(page=2, dpi=40))), atol=1e-3)


def test_opt_in_with_a_missing_page_or_a_locked_file(clip, deck, tmp_path):
    path, _ = deck
    with pytest.raises(UnsupportedInputError, match=r"^Item 0 \(.*\): page 9 does not exist"):
        clip.encode([path], media=MediaOptions(document=DocumentOptions(page=9)))
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(build_pdf(numbered_pages(1), user_password="pw"))
    with pytest.raises(MediaDecodeError, match="needs a password"):
        clip.encode([str(locked)], media=FIRST)
    options = MediaOptions(document=DocumentOptions(page="first", dpi=40, password="pw"))
    assert clip.encode([str(locked)], media=options).shape == (1, clip.get_embedding_dimension())


def test_a_url_to_a_pdf(clip, deck, http_media, media_dir):
    _, data = deck
    base, policy = http_media
    (media_dir / "deck.pdf").write_bytes(data)
    options = MediaOptions(fetch=policy, document=DocumentOptions(page="first", dpi=40))
    np.testing.assert_allclose(
        clip.encode(f"{base}/deck.pdf", media=options), clip.encode(direct_render(data, 1, 40 / 72)), atol=1e-6
    )


def test_load_item_document_modality_rejects_non_pdfs(astronaut):
    with pytest.raises(MediaDecodeError, match="not a PDF document"):
        load_item(b"\x89PNG\r\n\x1a\n" + bytes(30), "document")
    with pytest.raises(UnsupportedInputError, match="a document must be a PDF"):
        load_item(astronaut, "document")


# -------------------------------------------------------------------------------------- page embeddings
def test_page_embeddings_equal_embeddings_of_the_rendered_images(clip, deck):
    path, data = deck
    pages = list(document_pages(path, dpi=40))
    direct = [direct_render(data, n, 40 / 72) for n in (1, 2, 3)]
    expected = clip.encode(direct)
    np.testing.assert_allclose(clip.encode([p.image for p in pages]), expected, atol=1e-6)
    np.testing.assert_allclose(clip.encode(pages), expected, atol=1e-6)  # DocumentPage objects are images too
    assert infer_modality(pages[0]) == "image"
    with pytest.raises(UnsupportedModalityError):
        infer_modality(pages[0], ["text"])


def test_minilm_finds_page_7_from_its_text_layer(minilm):
    data = build_pdf(topic_pages())
    pages = list(document_pages(data, dpi=20))
    assert pages[6].text == TOPICS[6]
    page_vectors = minilm.encode([p.text for p in pages], normalize_embeddings=True)
    query = minilm.encode("ash from a volcano grounded flights", normalize_embeddings=True)
    scores = page_vectors @ query
    ranking = [pages[i].number for i in np.argsort(-scores)]
    assert ranking[0] == 7
    assert scores[6] - np.sort(scores)[-2] > 0.1  # by a clear margin


def test_chat_messages_and_pairs_take_the_opt_in_too(deck):
    path, data = deck
    message = {"role": "user", "content": [{"type": "image", "image": path}, {"type": "text", "text": "?"}]}
    loaded = load_item(message, "message", options=FIRST)
    image = loaded["content"][0]["image"]
    assert image.size == direct_render(data, 1, 40 / 72).size
    with pytest.raises(UnsupportedInputError, match="document_pages"):
        load_item(message, "message")


def test_explicit_text_restores_the_reference_rule(clip, tmp_path):
    # The reference embeds an existing "x.pdf" as the text "x.pdf"; {"text": ...} still does, on any model.
    path = tmp_path / "notes.pdf"
    path.write_bytes(build_pdf(numbered_pages(1)))
    as_text = clip.encode({"text": str(path)})
    with pytest.raises(UnsupportedInputError, match="document_pages"):
        clip.encode(str(path))
    path.unlink()  # a missing file is plain text for the reference and for omniembed alike
    np.testing.assert_allclose(as_text, clip.encode(str(path)), atol=1e-6)
