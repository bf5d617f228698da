"""/v1/embeddings returns what ``model.encode`` returns on the same inputs, for every modality and item form,
through the official openai client (base64, its default) and plain httpx (floats)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from conftest import cosine, data_uri

SENTENCES = ["A man is eating food.", "A man is riding a horse.", "The new movie is awesome!",
             "Une phrase en français, plus longue que les autres pour changer le remplissage."]


def embed(http, model: str, items, **extra) -> np.ndarray:
    response = http.post("/v1/embeddings", json={"model": model, "input": items, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["index"] for d in body["data"]] == list(range(len(body["data"])))
    return np.array([d["embedding"] for d in body["data"]], dtype=np.float32)


def assert_same(server_rows, reference_rows) -> None:
    server_rows, reference_rows = np.atleast_2d(server_rows), np.atleast_2d(reference_rows)
    assert server_rows.shape == reference_rows.shape
    for got, want in zip(server_rows, reference_rows):
        assert cosine(got, want) >= 0.99999
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_openai_client_text_equals_encode(client, reference):
    response = client.embeddings.create(model="minilm", input=SENTENCES)  # base64 on the wire (client default)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    assert got.shape == (4, 384)
    assert_same(got, reference["minilm"].encode(SENTENCES))
    assert response.model == "minilm"
    tokenizer = reference["minilm"].tokenizer
    expected_tokens = sum(len(ids) for ids in tokenizer(SENTENCES)["input_ids"])
    assert response.usage.prompt_tokens == response.usage.total_tokens == expected_tokens


def test_float_and_base64_formats_carry_the_same_vector(http):
    floats = http.post("/v1/embeddings", json={"model": "minilm", "input": "hello"}).json()
    b64 = http.post("/v1/embeddings", json={"model": "minilm", "input": "hello", "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    assert decoded.shape == (384,)
    np.testing.assert_array_equal(decoded, np.array(floats["data"][0]["embedding"], dtype=np.float32))
    assert floats["object"] == "list" and floats["data"][0]["object"] == "embedding"


def test_single_string_input_and_model_default_naming(client, reference):
    response = client.embeddings.create(model="minilm", input="Just one sentence.")
    assert len(response.data) == 1
    assert_same(np.array(response.data[0].embedding), reference["minilm"].encode("Just one sentence."))


def test_dimensions_truncates_then_renormalises(client, reference):
    response = client.embeddings.create(model="minilm", input=SENTENCES[:2], dimensions=64)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    full = reference["minilm"].encode(SENTENCES[:2])[:, :64]
    expected = full / np.linalg.norm(full, axis=1, keepdims=True)
    assert got.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert_same(got, expected)


@pytest.mark.parametrize("task", ["query", "document"])
def test_task_runs_encode_query_or_document(client, reference, task):
    model = reference["prompted"]
    response = client.embeddings.create(model="prompted", input=SENTENCES, extra_body={"task": task})
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    expected = (model.encode_query if task == "query" else model.encode_document)(SENTENCES)
    assert_same(got, expected)
    assert cosine(got[0], model.encode(SENTENCES[0])) < 0.9999  # the prompt really changed the embedding


def test_prompt_name(http, reference):
    got = embed(http, "prompted", SENTENCES, prompt_name="title")
    assert_same(got, reference["prompted"].encode(SENTENCES, prompt_name="title"))


def test_image_urls_and_text_in_one_request(client, reference, media_server, loopback_media):
    items = [media_server.url("/cat.png"), "a photo of an astronaut", media_server.url("/rocket.jpg")]
    response = client.embeddings.create(model="clip", input=items)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    assert_same(got, reference["clip"].encode(items, media=loopback_media))
    assert cosine(got[0], got[2]) < 0.999  # two different images really were fetched and embedded


def test_image_forms_all_give_the_same_embedding(http, reference, media, media_server, loopback_media):
    expected = reference["clip"].encode(media_server.url("/cat.png"), media=loopback_media)
    url = media_server.url("/cat.png")
    forms = [
        data_uri("image/png", media.png),                                           # data: URI string
        {"image": media_server.url("/image-without-extension")},                    # Jina object, no extension
        {"image": base64.b64encode(media.png).decode()},                            # Jina bare base64
        {"type": "image_url", "image_url": {"url": url}},                           # one content part
        [{"type": "image_url", "image_url": {"url": url}}],                         # a content list
        {"type": "image", "url": url},                                              # transformers' part
        "cat.png",                                                                  # a file in the allowed folder
        {"image": "cat.png"},
    ]
    got = embed(http, "clip", forms)
    assert_same(got, np.tile(expected, (len(forms), 1)))


def test_infinity_modality_field(http, reference, media):
    raw = base64.b64encode(media.png).decode()
    got = embed(http, "clip", [raw], modality="image")
    assert_same(got, reference["clip"].encode([media.png]))


def test_vllm_messages_form(http, reference, media_server, loopback_media):
    url = media_server.url("/coffee.png")
    response = http.post("/v1/embeddings", json={"model": "clip", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]})
    assert response.status_code == 200, response.text
    got = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
    assert_same(got, reference["clip"].encode(url, media=loopback_media))


def test_text_content_part_is_text(http, reference):
    got = embed(http, "clip", [{"type": "text", "text": "a red car"}, {"text": "a red car"}, "a red car"])
    assert_same(got, np.tile(reference["clip"].encode("a red car"), (3, 1)))


def test_audio(client, http, reference, media, media_server, loopback_media):
    model = reference["clap"]
    url = media_server.url("/tone.wav")
    expected = model.encode([url, media_server.url("/noise.wav")], media=loopback_media)
    response = client.embeddings.create(model="clap", input=[url, media_server.url("/noise.wav")])
    assert_same(np.array([d.embedding for d in response.data]), expected)
    forms = [data_uri("audio/wav", media.wav), {"audio": url}, {"type": "audio_url", "audio_url": {"url": url}},
             {"type": "input_audio", "input_audio": {"data": base64.b64encode(media.wav).decode(), "format": "wav"}},
             {"audio": "sub/tone.wav"}]
    assert_same(embed(http, "clap", forms), np.tile(expected[0], (len(forms), 1)))
    text = embed(http, "clap", ["a pure tone"])
    assert_same(text, model.encode(["a pure tone"]))


def test_video(client, http, reference, media, media_server, loopback_media):
    model = reference["xclip"]
    urls = [media_server.url("/clip.mp4"), media_server.url("/clip-b.mp4")]
    expected = model.encode(urls, media=loopback_media)
    response = client.embeddings.create(model="xclip", input=urls)
    got = np.array([d.embedding for d in response.data])
    assert_same(got, expected)
    assert cosine(got[0], got[1]) < 0.9999
    forms = [data_uri("video/mp4", media.mp4), {"video": urls[0]},
             {"type": "video_url", "video_url": {"url": urls[0]}}, "clip.mp4"]
    assert_same(embed(http, "xclip", forms), np.tile(expected[0], (len(forms), 1)))


def test_alias_path_without_v1(http, reference):
    response = http.post("/embeddings", json={"model": "minilm", "input": ["hello"]})
    assert response.status_code == 200
    assert_same(np.array(response.json()["data"][0]["embedding"]), reference["minilm"].encode("hello"))


def test_model_can_be_named_by_its_path(http, model_dirs, reference):
    got = embed(http, model_dirs["bert"], ["hello"])
    assert_same(got, reference["bert"].encode(["hello"]))
