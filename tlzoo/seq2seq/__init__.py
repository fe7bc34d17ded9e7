"""Sequence-to-sequence support shared by the text-generation tasks (translation, summarization...).

:class:`tlzoo.seq2seq.task.Seq2SeqTask` holds everything those tasks have in common: tokenising
source and target for the three backbone kinds, padding and label masking, generation-based
evaluation and prediction. A task subclass adds only its data reader, its wording of the
instruction and its metrics. This package imports nothing heavy at import time.
"""

GENERATION_PARAMETERS = {
    "max_new_tokens": {"type": "int", "ge": 1, "le": 512,
                       "description": "Generate at most this many tokens (default: the model's setting)."},
    "num_beams": {"type": "int", "ge": 1, "le": 8,
                  "description": "Beam size; 1 is greedy decoding (default: the model's setting)."},
}
"""The prediction options a server request may set for the text-generation tasks (spec metadata
``"parameters"``, with the ranges it accepts): a subset of :attr:`Seq2SeqTask.prediction_options`
(``tlzoo check`` verifies it), overriding per request the generation settings the model was trained with."""
