"""Request and response bodies, as pydantic models (they validate requests and document ``/docs``).

Field names and meanings are the originals': OpenAI's embeddings API, Cohere v2 / Jina rerank, Text Embeddings
Inference's rerank. omniembed's additions are marked as such; unknown fields are ignored, as OpenAI does.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EmbeddingData", "EmbeddingRequest", "EmbeddingResponse", "FailureInfo", "Health", "ModelCard", "ModelList",
    "RerankRequest", "RerankResponse", "RerankResult", "TeiRerankResult", "Usage",
]  # fmt: skip

# One item: a string (text, an http(s) URL or a data: URI), an object ({"text"|"image"|"audio"|"video": ...}),
# or a list of chat content parts ({"type": "text"|"image_url"|"audio_url"|"video_url"|..., ...}).
Item = Union[str, dict[str, Any], list[Any]]  # noqa: UP007 - a runtime alias on Python 3.10


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmbeddingRequest(_Request):
    input: str | dict[str, Any] | list[Any] | None = Field(
        None, description="A string, an item object, or a list of items (strings, objects, content-part lists). "
        "Token-id arrays are not accepted.")
    model: str | None = Field(None, description="A served model id (optional when one model is served).")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="'base64': little-endian float32 bytes, base64-encoded (the openai client's default).")
    dimensions: int | None = Field(None, ge=1, description="Truncate to this many dimensions, then "
                                         "re-normalise (Matryoshka).")
    user: str | None = Field(None, description="Accepted and ignored.")
    messages: list[dict[str, Any]] | None = Field(
        None, description="vLLM's form: one chat conversation, embedded as one item (instead of 'input').")
    task: Literal["query", "document"] | None = Field(
        None, description="omniembed: 'query' runs encode_query, 'document' runs encode_document.")
    prompt_name: str | None = Field(None, description="omniembed: a prompt configured in the model.")
    modality: Literal["text", "image", "audio", "video"] | None = Field(
        None, description="infinity's form: every string in 'input' is of this modality.")
    on_error: Literal["raise", "skip"] = Field(
        "raise", description="omniembed: 'skip' embeds the good items and lists the failed ones in 'failures'.")


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str | None = Field(description="Floats, a base64 string, or null for an item "
                                                     "that failed under on_error='skip'.")


class FailureInfo(BaseModel):
    index: int
    type: str = Field(description="The omniembed error class, e.g. MediaFetchError.")
    message: str


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage
    failures: list[FailureInfo] | None = Field(None, description="Only with on_error='skip'.")


class RerankRequest(_Request):
    model: str | None = Field(None, description="A served reranker id (optional when one is served).")
    query: Item = Field(description="A string, or an item object such as {\"image\": url}.")
    documents: list[Any] | None = Field(None, description="Strings or item objects (Cohere / Jina); an "
                                              "unusable document fails alone (see on_error).")
    texts: list[str] | None = Field(None, description="TEI's form of 'documents'; the response is then TEI's "
                                          "list of {index, score, text?}.")
    top_n: int | None = Field(None, ge=0, description="Return the best top_n results only.")
    return_documents: bool = Field(False, description="Add each result's document.")
    max_tokens_per_doc: int | None = Field(None, description="Accepted and ignored: documents are truncated "
                                                 "to the model's maximum length.")
    raw_scores: bool = Field(False, description="TEI: scores before the model's activation function.")
    return_text: bool = Field(False, description="TEI: add each text to its result.")
    truncate: bool | None = Field(None, description="TEI: accepted; inputs are always truncated.")
    prompt_name: str | None = Field(None, description="omniembed: a prompt configured in the model.")
    on_error: Literal["raise", "skip"] = Field(
        "raise", description="omniembed: 'skip' ranks failed documents last with relevance_score null.")


class RerankResult(BaseModel):
    index: int
    relevance_score: float | None
    document: dict[str, Any] | None = None


class RerankResponse(BaseModel):
    id: str
    model: str
    results: list[RerankResult]
    usage: dict[str, int]
    meta: dict[str, Any]
    failures: list[FailureInfo] | None = None


class TeiRerankResult(BaseModel):
    index: int
    score: float | None
    text: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "omniembed"
    task: str = Field(description="omniembed: 'embedding' or 'rerank'.")
    modalities: list[str]
    dimensions: int | None = None
    prompts: list[str] | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    status: Literal["ok", "loading", "failed"]
    error: str | None = None
