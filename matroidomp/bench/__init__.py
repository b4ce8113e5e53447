"""Heterogeneous fine-tuning benchmark (``python -m matroidomp.bench``; needs the ``finetune`` extra).

:mod:`.data` builds the tasks (math from mathematics-dataset, chemistry computed with rdkit, or the
user's JSONL), :mod:`.text` the tokenizer and tensors, :mod:`.model` the small offline Qwen2 (or a
local model), :mod:`.runner` the fine-tuning runs of every selection method, :mod:`.report` the
tables and plots; :mod:`.cli` is the command line.
"""
