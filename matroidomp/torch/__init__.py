"""Torch adapter (requires torch; the solver core does not).

:func:`per_example_gradients` gives the matrix G (pool × D, or pool × p after a random
projection) that the solvers take; :func:`select_linears` names the parameter set;
:class:`PartitionSelector` is the selection step of a training loop (:func:`gather_pool` joins the
ranks' local pools under data parallelism); :func:`selective_step`
(plain PyTorch) and :class:`PartitionSelTrainer` (Hugging Face) run it (these need transformers and
are imported on first use).
"""

from ._per_example import last_layer_linears, per_example_gradients, select_linears
from ._selector import PartitionSelector, Selection, gather_pool

_TRAINING = ("PartitionSelTrainer", "mean_answer_loss", "selective_step")

__all__ = ["PartitionSelector", "Selection", "gather_pool", "last_layer_linears", "per_example_gradients",
           "select_linears", *_TRAINING]


def __getattr__(name):
    if name in _TRAINING:
        from . import _training

        return getattr(_training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
