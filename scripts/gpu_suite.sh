#!/usr/bin/env bash
# The GPU suite, for a machine with a CUDA GPU and torch installed (the lent H100: torch 2.11.0+cu130):
# builds fusedops there, then runs the stages named on the command line, in order:
#   test      pytest (CUDA cases included; FUSEDOPS_PYTEST_ARGS narrows it) and ctest
#   sanitize  compute-sanitizer memcheck over the CUDA op tests and the C++ tests
#   bench     bench/run.py at the benchmark sizes (TF32 on and off) and the small sizes
#   breakdown bench/breakdown.py: each problem's kernels, forward and training step, at the benchmark sizes
#             (FUSEDOPS_BENCH_PROBLEMS, e.g. "L2_19 L2_21", narrows it); the whole listing in breakdown.txt
# Logs and benchmark results go to artifacts/ (bench results under artifacts/bench, to be copied into
# bench/results/), under $OUT where that is set (the lent machine returns what is there, even from a call
# cut off at its time limit). Wheels for missing Python packages travel in .whl/ (pytest-xdist among them, to run
# pytest in parallel).
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS=${OUT:-$PWD}/artifacts
mkdir -p "$LOGS/bench"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0a} FUSEDOPS_LIBRARY="$PWD/build-gpu/libfusedops.so"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

# Compile with the system g++, whose libstdc++ is the one Python loads at run time: the image's
# default CXX (/opt/gcc) is newer, and code built with its headers crashes formatting error messages
# against the older runtime library.
# The same goes for the code Inductor compiles and loads (AOTInductor packages): it reads CXX.
cxx=${FUSEDOPS_CXX:-$( [ -x /usr/bin/g++ ] && echo /usr/bin/g++ || command -v g++ )}
export CXX="$cxx"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v python3)" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CUDA_HOST_COMPILER="$cxx" \
  -DFUSEDOPS_BUILD_TESTS=ON -DFUSEDOPS_BUILD_EXAMPLES=ON >"$LOGS/cmake.log" 2>&1 || { cat "$LOGS/cmake.log"; exit 1; }
cmake --build build-gpu -j "$(nproc)" >"$LOGS/build.log" 2>&1 || { tail -50 "$LOGS/build.log"; exit 1; }
echo "built"

status=0
for stage in "$@"; do
  case "$stage" in
    test)
      # FUSEDOPS_PYTEST_ARGS narrows the run (default: every test). Most of the suite's time is CPU work
      # (torch.compile, AOTInductor, TorchScript), so it spreads over the cores when pytest-xdist is there.
      workers=$(python3 -c "import xdist" 2>/dev/null && echo "-n $(( $(nproc) / 2 ))")
      python3 -m pytest ${FUSEDOPS_PYTEST_ARGS:-python_tests} -q -p no:cacheprovider $workers >"$LOGS/pytest.log" 2>&1 \
        || status=1
      tail -15 "$LOGS/pytest.log"
      ctest --test-dir build-gpu -j "$(nproc)" --output-on-failure >"$LOGS/ctest.log" 2>&1 || status=1
      tail -3 "$LOGS/ctest.log" ;;
    sanitize)
      compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q -p no:cacheprovider \
        python_tests/test_conv_transpose1d.py python_tests/test_add.py python_tests/test_conv2d.py \
        python_tests/test_group_norm.py python_tests/test_fused_conv_group_norm.py \
        python_tests/test_conv_bn_pool_group_norm.py -k "(cuda or row_kernel or weight_grad) and not large and not opcheck" \
        >"$LOGS/sanitizer.log" 2>&1 || status=1
      tail -4 "$LOGS/sanitizer.log" ;;
    bench)
      # FUSEDOPS_BENCH_ARGS (e.g. "--problems L2_19,L2_21") reruns a subset: its rows replace those in the
      # committed results, which are copied in first.
      cp bench/results/*.json "$LOGS/bench/" 2>/dev/null
      python3 bench/run.py --shapes KB --train ${FUSEDOPS_BENCH_ARGS:-} --out-dir "$LOGS/bench" 2>&1 | tail -28 || status=1
      python3 bench/run.py --shapes KB --tf32 off --skip-compile ${FUSEDOPS_BENCH_ARGS:-} --out-dir "$LOGS/bench" 2>&1 \
        | tail -12 || status=1
      python3 bench/run.py --shapes SMALL ${FUSEDOPS_BENCH_ARGS:-} --out-dir "$LOGS/bench" 2>&1 | tail -12 || status=1 ;;
    breakdown)
      python3 bench/breakdown.py ${FUSEDOPS_BENCH_PROBLEMS:-} >"$LOGS/breakdown.txt" 2>&1 || status=1
      grep -E "^[A-Z]|: [0-9.]+ ms" "$LOGS/breakdown.txt" | grep -v "^USDT" ;;
    *) echo "unknown stage $stage"; exit 2 ;;
  esac
done
exit $status
