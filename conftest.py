"""Root pytest configuration: what doctest collection (``--doctest-modules``) may import.

* ``matroidomp/bench/__main__.py`` runs the benchmark when imported, so it is never collected.
* Triton picks its interpreter or its compiler once, when triton is first imported. Without a
  CUDA GPU the kernels' docstring examples and tests run in the interpreter, so
  ``TRITON_INTERPRET=1`` is set here, before any module under test can import triton (the
  package's torch adapter imports transformers, which imports triton) — the same rule as
  ``tests/test_triton_kernels.py``. With a GPU nothing is set and the kernels compile.
"""

import os
import sys

collect_ignore = ["matroidomp/bench/__main__.py"]

if "triton" not in sys.modules and "TRITON_INTERPRET" not in os.environ:
    try:
        import torch
    except ImportError:  # no torch: no Triton kernels to run
        pass
    else:
        if not torch.cuda.is_available():
            os.environ["TRITON_INTERPRET"] = "1"
