#!/usr/bin/env bash
# One prepared GPU check for a lent device machine (nvidia-h200): setup, CUDA tests, benchmarks.
#
# Run it through the device tool from the repository root, e.g.
#     run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=480)
# It is sized to finish in about 4-6 minutes on one H200 (at most ~7: tests are cut at 180 s, the
# report at 240 s) and leaves everything under $OUT
# (./gpu_out when OUT is unset): env.txt, pytest.txt, report.txt, gpu_report.json.
#
# The machine has no package registry (nothing outside it can be reached), so
# `pip install -e '.[dev]'` cannot run there: its dev extra pins torch==2.13.0 / triton==3.7.1,
# which would have to be downloaded. Instead this uses the image's own python3, which holds a
# CUDA build of torch and a matching triton (KINDS.md: torch 2.11.0+cu130, triton 3.6.0), numba,
# numpy, scipy, pytest, hypothesis, pytest-benchmark and scikit-learn, in a venv that sees those
# (--system-site-packages), and installs this package with --no-deps --no-index.
# The one dependency the image lacks is array-api-compat. Before calling, once, in the repo root:
#     mkdir -p .git/info && echo /.whl/ >> .git/info/exclude
#     python3 -m pip download --no-deps --only-binary=:all: -d .whl array-api-compat==1.16.0
# and pass carry=[".whl"]. Without it the script falls back to the copy vendored in scikit-learn
# or scipy (older versions; printed).
set -uo pipefail
OUT=${OUT:-$PWD/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
unset TRITON_INTERPRET
T0=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - T0 )) s] $*"; }

stamp "setup"
PY=${PYTHON:-python3}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
VENV=/tmp/matroidomp-venv
"$PY" -m venv --system-site-packages "$VENV" || { echo "venv failed"; exit 2; }
. "$VENV/bin/activate"
if ! python -c 'import array_api_compat' 2>/dev/null; then
  if ls .whl/array_api_compat-*.whl >/dev/null 2>&1; then
    python -m pip install -q --no-index --no-deps .whl/array_api_compat-*.whl
  else
    # fall back to a vendored copy: a link named array_api_compat on the path
    SHIM=/tmp/aac-shim; mkdir -p "$SHIM"
    SRC=$(python - <<'EOF'
import importlib, os
for name in ("sklearn.externals.array_api_compat", "scipy._lib.array_api_compat"):
    try:
        m = importlib.import_module(name)
        print(os.path.dirname(m.__file__)); break
    except Exception:
        pass
EOF
)
    [ -n "$SRC" ] && ln -sfn "$SRC" "$SHIM/array_api_compat" && export PYTHONPATH="$SHIM${PYTHONPATH:+:$PYTHONPATH}"
    echo "array-api-compat not carried: using the vendored copy at ${SRC:-<none found>}"
  fi
fi
if ! python -m pip install -q --no-index --no-deps --no-build-isolation -e . \
   && ! python -m pip install -q --no-index --no-deps --no-build-isolation . ; then
  # last resort: the installed layout (kernels/ is the subpackage matroidomp.kernels) on PYTHONPATH
  echo "pip could not install matroidomp offline: putting a copy on PYTHONPATH"
  rm -rf /tmp/mo-src && mkdir -p /tmp/mo-src && cp -r matroidomp /tmp/mo-src/ \
    && rm -rf /tmp/mo-src/matroidomp/kernels && cp -r kernels /tmp/mo-src/matroidomp/kernels \
    && export PYTHONPATH="/tmp/mo-src${PYTHONPATH:+:$PYTHONPATH}" || { echo "could not install matroidomp"; exit 3; }
fi
python - <<'EOF' | tee "$OUT/env.txt"
import sys, platform
import numpy, scipy, numba, torch, triton, array_api_compat, matroidomp
print("python", sys.version.split()[0], platform.machine())
for m in (numpy, scipy, numba, torch, triton, array_api_compat):
    print(m.__name__, m.__version__)
print("torch.version.cuda", torch.version.cuda)
print("torch.cuda.is_available()", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm_{p.major}{p.minor}", p.multi_processor_count, "SMs")
print("matroidomp", matroidomp.__file__)
EOF
python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  || { echo "torch sees no CUDA device: stopping (nothing below would measure a GPU)"; exit 4; }

stamp "CUDA tests (compiled Triton, no TRITON_INTERPRET)"
timeout 180 python -m pytest tests/test_triton_kernels.py tests/test_backends.py -q -p no:cacheprovider 2>&1 \
  | tee "$OUT/pytest.txt"
TEST_RC=${PIPESTATUS[0]}
stamp "tests exit code $TEST_RC"

stamp "benchmarks (benchmarks/gpu_report.py)"
timeout 240 python benchmarks/gpu_report.py --out "$OUT" 2>&1 | tee "$OUT/report.txt"
REPORT_RC=${PIPESTATUS[0]}
stamp "report exit code $REPORT_RC; done"
[ "$TEST_RC" -eq 0 ] && [ "$REPORT_RC" -eq 0 ]
