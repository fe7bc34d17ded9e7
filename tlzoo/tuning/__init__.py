"""``tlzoo tune``: hyper-parameter search with Optuna through the one training engine (:mod:`tlzoo.tuning.study`),
its search spaces (:mod:`tlzoo.tuning.space`) and plots (:mod:`tlzoo.tuning.plots`)."""
