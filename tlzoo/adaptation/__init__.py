"""``tlzoo adapt``: continued pre-training of a backbone on unlabelled text (domain- or task-adaptive), through
the same engine as fine-tuning; the result is a backbone folder that any task takes as ``--backbone DIR``."""
