"""Sequence-to-sequence support shared by the text-generation tasks (translation, summarization...).

:class:`tlzoo.seq2seq.task.Seq2SeqTask` holds everything those tasks have in common: tokenising
source and target for the three backbone kinds, padding and label masking, generation-based
evaluation and prediction. A task subclass adds only its data reader, its wording of the
instruction and its metrics. This package imports nothing heavy at import time.
"""
