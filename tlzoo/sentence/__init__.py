"""Sentence encoders shared by the similarity tasks and ``--strategy setfit``: pooling token states into one
vector per text (:mod:`.pooling`), the contrastive losses (:mod:`.losses`), padding groups of texts into a
batch (:mod:`.collate`), and the files that make a model folder load with sentence-transformers
(:mod:`.st_format`). Imported on use only (torch)."""
