"""``omniembed.base``: the counterpart of ``sentence_transformers.base`` (``modules``, ``modality``). Training
classes (trainers, samplers, collators) are not part of omniembed.

Example:
    >>> from omniembed.base.modality import infer_modality
    >>> infer_modality("a photo of a cat")
    'text'
"""
