"""Knowledge distillation (``tlzoo distill``): a smaller student trained on a teacher's outputs."""
