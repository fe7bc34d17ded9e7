"""The fine-tuning engine shared by every task: data, loop, checkpoints, strategies, outputs."""
