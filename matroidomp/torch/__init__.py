"""Torch adapter (requires torch; the solver core does not).

:func:`per_example_gradients` gives the matrix G (pool × D, or pool × p after a random
projection) that the solvers take; :func:`select_linears` names the parameter set;
:func:`ghost_gram` gives G Gᵀ (and G ā) of linear layers without forming G;
:class:`PartitionSelector` is the selection step of a training loop (:func:`gather_pool` joins the
ranks' local pools under data parallelism); :func:`selective_step`
(plain PyTorch) and :class:`PartitionSelTrainer` (Hugging Face) run it (these need transformers and
are imported on first use).
"""

from ._ghost import GhostGram, ghost_gram, ghost_is_cheaper
from ._per_example import last_layer_linears, per_example_gradients, select_linears
from ._selector import PartitionSelector, Selection, gather_pool

_TRAINING = ("PartitionSelTrainer", "mean_answer_loss", "selective_step")

__all__ = ["GhostGram", "PartitionSelector", "Selection", "gather_pool", "ghost_gram", "ghost_is_cheaper",
           "last_layer_linears", "per_example_gradients",
           "select_linears", *_TRAINING]


def __getattr__(name):
    if name in _TRAINING:
        from . import _training

        return getattr(_training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
