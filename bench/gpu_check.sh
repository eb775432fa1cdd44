#!/usr/bin/env bash
# The CUDA path, end to end, on a machine whose python3 has torch with CUDA (no network):
# compile + verify on the GPU, a corpus scored by a compiled model, a short training run,
# and the compiler/train tests. Wheels for the pure-Python dependencies torch images lack
# are carried in .devwheels/ (pip download lark prompt_toolkit wcwidth graphviz).
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-index .devwheels/*.whl 2>&1 | tail -1
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
run() { echo "\$ rasp $*"; /usr/bin/time -f "(%e s wall, %M KB)" python3 -m rasp "$@" 2>&1 | tail -4; }
run verify programs/sort.rasp --vocab a,b,c,d,e --max-len 8 --json
run verify programs/dyck1.rasp --vocab "(,),a" --max-len 12 --json
run compile programs/reverse.rasp --vocab a,b,c,d,e,f,g,h --max-len 64 --json -o /tmp/rev64.safetensors --force
run eval programs/sentiment.rasp programs/corpora/sentiment.tsv --classify --compiled --json
run eval programs/translate.rasp programs/corpora/en_fr.tsv --compiled --json
run train programs/reverse.rasp --vocab a,b,c,d,e,f,g,h --max-len 10 --steps 300 --json -o /tmp/rev-trained.safetensors --force
python3 -m pytest -q -x -p no:cacheprovider tests/test_compiler.py tests/test_train.py 2>&1 | tail -3
