"""The search page inside ``omniembed serve --db DB``: which served model fills the index, and when it is ready.

The server loads its models in a background thread; the page must use the model the server loaded (one copy in
memory), and must not load its own while that thread runs. :class:`ServedSearchPage` names the embedding model
the store needs (one the command line already serves, or the store's recorded model added to the served ones),
gives the server a router whose searches answer 503 until the models are loaded, then hands the loaded model to
the :class:`~omniembed.index.MediaIndex`.

Example:
    >>> from omniembed.server.served import ModelSpec
    >>> page = ServedSearchPage("photos.db", [ModelSpec.parse("clip=openai/clip-vit-base-patch32", "embedding")])  # doctest: +SKIP
    >>> page.specs, page.model_name                                      # doctest: +SKIP
    ([ModelSpec(name='clip', path='openai/clip-vit-base-patch32', kind='embedding')], 'clip')
    >>> app = create_app(lambda: load_models(page.specs), settings, extra_routers=[page.router])  # doctest: +SKIP
    >>> app.state.omniembed.on_ready.append(page.ready)                  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from omniembed.index.media_index import MediaIndex, model_key
from omniembed.index.web import create_search_router

__all__ = ["ServedSearchPage"]


class ServedSearchPage:
    """The search page of the store at ``db`` for a server that serves ``specs`` (``ModelSpec`` objects).

    ``specs``: the models the server was asked for; :attr:`specs` is that list plus the store's model when none
    of them is it (matched by :func:`~omniembed.index.media_index.model_key`: a hub id as given, a folder by its
    absolute path). ``rerank``: a CrossEncoder id/folder applied to every page search (optional).
    """

    def __init__(self, db: str | os.PathLike, specs: Sequence[Any], *, rerank: Any = None,
                 thumbnail_dir: str | None = None) -> None:
        from omniembed.server.served import ModelSpec

        self.index = MediaIndex.open(db)  # raises StoreNotFoundError (one line: how to create one)
        wanted = self.index.store.info.model
        match = next((s for s in specs if s.kind == "embedding" and model_key(s.path) == wanted), None)
        self.specs = list(specs)
        if match is None:
            match = ModelSpec.parse(wanted, "embedding")
            self.specs.append(match)
        self.model_name: str = match.name
        self._ready = False
        self.router = create_search_router(self.index, rerank=rerank, thumbnail_dir=thumbnail_dir,
                                           ready=lambda: self._ready)

    def ready(self, state: Any) -> None:
        """The server's ``on_ready`` callback: give the index the model the server loaded."""
        self.index.use_model(state.embedding_model(self.model_name).model)
        self._ready = True
