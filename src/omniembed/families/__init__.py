"""Per-family input preparation: how a model family's processor turns decoded items into model inputs.

``modules.Transformer.preprocess`` picks one helper per batch and hands it the processor part it needs and the
call's resolved :class:`~omniembed.families.processing_kwargs.ProcessingKwargs`; no helper reaches back into the
module, opens a file or fetches a URL (decoding is :mod:`omniembed.inputs`' job).

* :mod:`.modalities`: which modalities a model + processor can embed and through which method (dual encoders,
  audio encoders, image+text encoders, chat models), and the processor defaults a family needs;
* :mod:`.text`: tokenisation, prompts, pairs, and tokenising a call's texts once;
* :mod:`.vision`: images through the image processor, with pixel caps;
* :mod:`.audio`: audio through the feature extractor, with valid-frame counts for pooling;
* :mod:`.video`: frames through the image processor (no torchvision), frame-count fitting;
* :mod:`.combined`: ``{"text": ..., "image": ...}`` inputs on models without a chat template;
* :mod:`.chat`: conversations rendered with the chat template (VLM embedders, chat-template rerankers).
"""
