"""What the launcher (torchrun, accelerate launch, mpirun) started, read from the environment."""

from __future__ import annotations

import os

from tlzoo.api import TlzooError


def launched_world_size() -> int:
    """The number of processes the launcher started, from the environment it sets.

    ``accelerate launch --cpu --num_processes N`` starts a single process (Accelerate's simple
    launcher; several CPU processes need mpirun) yet sets ``MASTER_PORT``: refused here, as
    training alone while N processes were asked for would be a silent surprise.
    """
    for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        if name in os.environ:
            return int(os.environ[name])
    if os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true" and "MASTER_PORT" in os.environ:
        raise TlzooError("'accelerate launch --cpu --num_processes N' starts one process, not N; on CPUs "
                         "launch with 'torchrun --standalone --nproc_per_node N -m tlzoo train ...' or "
                         "'accelerate launch --multi_gpu --num_processes N -m tlzoo train ...'")
    return 1


def has_accelerator() -> bool:
    import torch

    if hasattr(torch, "accelerator"):  # torch >= 2.6: CUDA, XPU, MPS and other device backends
        return torch.accelerator.is_available()
    return torch.cuda.is_available()
