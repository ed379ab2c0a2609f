#!/usr/bin/env bash
# Make an interpreter with the original Theano 1.0.5, for
#   seqgraph bench --tutorials --theano-python DIR/bin/theano-python [--cold]
# which times the classic tutorials' steps in Theano in the same run as seqgraph's.
#
# Usage: benchmarks/theano-env.sh DIR [PYTHON]
#   PYTHON: a Python 3.7 (Theano 1.0.5's last supported); default: pyenv's 3.7, else python3.7.
# Theano compiles its C code with g++ and links NumPy's own OpenBLAS (from the NumPy wheel),
# so nothing beyond pip and a C++ compiler is needed.
set -euo pipefail
dir=${1:?usage: theano-env.sh DIR [PYTHON]}
python=${2:-}
if [ -z "$python" ]; then
    for candidate in "$HOME"/.pyenv/versions/3.7*/bin/python3.7 "$(command -v python3.7 || true)"; do
        if [ -x "$candidate" ]; then python=$candidate; break; fi
    done
fi
if [ -z "$python" ]; then
    echo "theano-env.sh: no Python 3.7 found; give one as the second argument" >&2
    exit 1
fi
"$python" -m venv "$dir"
"$dir/bin/pip" install -q "Theano==1.0.5" "numpy==1.19.5" "scipy==1.5.4"
libs=$("$dir/bin/python" -c 'import numpy, os; print(os.path.join(os.path.dirname(numpy.__path__[0]), "numpy.libs"))')
openblas=$(cd "$libs" && ls libopenblas*.so | head -n 1)
cat > "$dir/bin/theano-python" <<WRAPPER
#!/usr/bin/env bash
# Theano 1.0.5 on float32, linked to NumPy's OpenBLAS; THEANO_FLAGS given by the caller are added.
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export THEANO_FLAGS="floatX=float32,blas.ldflags=-L$libs -l:$openblas\${THEANO_FLAGS:+,\$THEANO_FLAGS}"
exec "$dir/bin/python" "\$@"
WRAPPER
chmod +x "$dir/bin/theano-python"
"$dir/bin/theano-python" -c 'import theano; print("Theano", theano.__version__, "ready:", "'"$dir"'/bin/theano-python")'
