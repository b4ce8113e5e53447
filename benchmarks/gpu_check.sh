#!/usr/bin/env bash
# One prepared GPU check for a lent device machine (nvidia-h200): setup, CUDA tests, benchmarks.
#
# Run it through the device tool from the repository root, e.g.
#     run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=480)
# It is sized to finish in about 4-6 minutes on one H200 (at most ~7: setup takes well under a
# minute, the tests are cut at 150 s, the report at 240 s) and leaves everything under $OUT
# (./gpu_out when OUT is unset): env.txt, pytest.txt, report.txt, gpu_report.json. The report
# rewrites its JSON after every section, so a cut run still returns the sections that finished.
#
# The report (benchmarks/gpu_report.py) has four sections: (a) fused OMP step bandwidth, (b) batched
# NNQP against torch, (c) end-to-end matroidomp.omp on CUDA tensors against numba on the host, and
# (d) the torch adapter's selection step in a LoRA training loop on the device (a Qwen2 built
# offline: per-example gradients, selection, one AdamW step, and host<->device bytes per step from
# torch.profiler) — the numbers docs/performance.md waits for.
#
# The machine has no package registry (nothing outside it can be reached), so
# `pip install -e '.[dev]'` cannot run there: its dev extra pins torch==2.13.0 / triton==3.7.1,
# which would have to be downloaded. Instead this uses the image's own python3 (a venv of its own,
# /opt/torch/.venv: CUDA torch 2.11.0+cu130, triton 3.6.0, transformers, peft, numba, numpy,
# scipy, pytest, hypothesis, pytest-benchmark, scikit-learn; .library/device/KINDS.md) directly:
# a venv made from it would not see those packages (--system-site-packages reaches the base
# interpreter's site-packages, not the image venv's). This package goes into that interpreter as
# an editable install (--no-deps --no-index; the machine is thrown away afterwards), so that the
# tests, which put the repository root on sys.path, and the report import the same
# matroidomp with matroidomp.kernels mapped to kernels/.
# The one dependency the image lacks is array-api-compat. Before calling, once, in the repo root
# (.whl/ is in .gitignore):
#     python3 -m pip download --no-deps --only-binary=:all: -d .whl array-api-compat==1.16.0
# and pass carry=[".whl"]; it is installed with --target into /tmp/mo-site (on PYTHONPATH). Without
# it the script falls back to the copy vendored in scikit-learn or scipy (older versions; printed).
set -uo pipefail
OUT=${OUT:-$PWD/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
unset TRITON_INTERPRET
# numba's on-disk cache: a fresh folder, never a stale cache of kernels edited since
export NUMBA_CACHE_DIR=$(mktemp -d /tmp/numba-cache.XXXXXX)
T0=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - T0 )) s] $*"; }

stamp "setup"
PY=${PYTHON:-python3}
echo "python: $(command -v "$PY") ($("$PY" -c 'import sys; print(sys.prefix)' 2>&1))"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
# first, before installing anything into that interpreter: is there a GPU it sees?
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  || { echo "$PY: no torch, or torch sees no CUDA device: stopping (nothing below would measure a GPU)"; exit 4; }
SITE=/tmp/mo-site
mkdir -p "$SITE"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c 'import array_api_compat' 2>/dev/null; then
  if ls .whl/array_api_compat-*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .whl/array_api_compat-*.whl
  else
    # fall back to a vendored copy: a link named array_api_compat on the path
    SRC=$("$PY" - <<'EOF'
import importlib, os
for name in ("sklearn.externals.array_api_compat", "scipy._lib.array_api_compat"):
    try:
        m = importlib.import_module(name)
        print(os.path.dirname(m.__file__)); break
    except Exception:
        pass
EOF
)
    [ -n "$SRC" ] && ln -sfn "$SRC" "$SITE/array_api_compat"
    echo "array-api-compat not carried: using the vendored copy at ${SRC:-<none found>}"
  fi
fi
PYTEST_IMPORT=()
PYFLAGS=()
if ! "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . ; then
  # last resort: the installed layout (kernels/ is the subpackage matroidomp.kernels) on PYTHONPATH;
  # python -P (3.11+) keeps the current folder off sys.path and pytest's importlib mode leaves
  # sys.path alone (the tests' helper modules come from tests/ on PYTHONPATH), so that this copy,
  # not the source folder matroidomp/, is the one imported
  echo "pip could not install matroidomp offline: putting a copy on PYTHONPATH"
  rm -rf "$SITE/matroidomp" && cp -r matroidomp "$SITE/" && rm -rf "$SITE/matroidomp/kernels" \
    && cp -r kernels "$SITE/matroidomp/kernels" || { echo "could not install matroidomp"; exit 3; }
  PYTEST_IMPORT=(--import-mode=importlib)
  export PYTHONPATH="$PYTHONPATH:$PWD/tests"
  PYFLAGS=(-P)
fi
"$PY" "${PYFLAGS[@]}" - <<'EOF' | tee "$OUT/env.txt"
import importlib, sys, platform
import numpy, scipy, numba, torch, triton, array_api_compat, matroidomp, matroidomp.kernels
print("python", sys.version.split()[0], platform.machine(), sys.prefix)
for m in (numpy, scipy, numba, torch, triton, array_api_compat):
    print(m.__name__, m.__version__)
for name in ("transformers", "peft", "pytest", "hypothesis", "sklearn", "cupy"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as exc:  # report, do not stop: the sections that need it say so
        print(name, "MISSING:", type(exc).__name__, exc)
print("torch.version.cuda", torch.version.cuda)
print("torch.cuda.is_available()", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm_{p.major}{p.minor}", p.multi_processor_count, "SMs")
print("matroidomp", matroidomp.__file__, "kernels", matroidomp.kernels.__file__)
EOF
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "the environment check failed (see above): stopping"; exit 3; }

stamp "CUDA tests (compiled Triton, no TRITON_INTERPRET)"
timeout 150 "$PY" "${PYFLAGS[@]}" -m pytest tests/test_triton_kernels.py tests/test_backends.py -q -p no:cacheprovider \
  "${PYTEST_IMPORT[@]}" 2>&1 | tee "$OUT/pytest.txt"
TEST_RC=${PIPESTATUS[0]}
stamp "tests exit code $TEST_RC"

stamp "benchmarks (benchmarks/gpu_report.py, sections a, b, d, c; no new case after 225 s)"
timeout 240 "$PY" benchmarks/gpu_report.py --out "$OUT" --deadline-s 225 2>&1 | tee "$OUT/report.txt"
REPORT_RC=${PIPESTATUS[0]}
stamp "report exit code $REPORT_RC; done"
[ "$TEST_RC" -eq 0 ] && [ "$REPORT_RC" -eq 0 ]
