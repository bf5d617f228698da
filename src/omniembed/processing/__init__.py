"""The one runtime shared by ``encode``, ``encode_query``/``encode_document``, ``predict`` and ``rank``.

* :mod:`.runtime`: a call top to bottom (modality → tokens → batches → preprocessing → forward → post-processing)
  and its frozen :class:`~omniembed.processing.runtime.CallContext`;
* :mod:`.batches`: batch planning (group by modality, sort by length), media decoding ahead of the model (once
  per distinct object), the ``on_error`` policy;
* :mod:`.embeddings` and :mod:`.scores`: the steps that differ between embedding and scoring, and the final
  conversion of a call's rows; :mod:`.pairs`: what a CrossEncoder input is and how a pair becomes features.
"""
