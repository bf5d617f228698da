"""A user module that reads a call keyword without declaring it: saved folders route such keywords with the
``"kwargs"`` list of its ``modules.json`` entry (jina-embeddings-v3 does this for ``task``)."""

from __future__ import annotations

from omniembed.models import Module


class TaskOffset(Module):
    """Adds 1 to every dimension for ``task="query"``, nothing otherwise."""

    def forward(self, features, task=None, **kwargs):
        if task == "query":
            features["sentence_embedding"] = features["sentence_embedding"] + 1.0
        return features

    def save(self, output_path, *args, **kwargs):
        self.save_config(output_path)
