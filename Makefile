# One-command set-up: `make test` and `make demo` build .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench bench-scale lint clean

setup: $(STAMP)

# torch is pinned to the CPU wheel that this machine carries; users elsewhere get torch>=2.2.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,draw,torch]'
	@command -v dot >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && (apt-get install -y -q graphviz >/dev/null 2>&1 || sudo -n apt-get install -y -q graphviz >/dev/null 2>&1) || echo "note: graphviz 'dot' not installed; 'rasp draw' will explain how to get it")
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

DEMO_OUT ?= demo-output

# Interpret, analyse, draw, compile to weights, verify and picture a model, end to end.
demo: $(STAMP)
	mkdir -p $(DEMO_OUT)
	$(VENV)/bin/rasp run programs/sort.rasp --input "hello"
	$(VENV)/bin/rasp run programs/translate.rasp --words --input "the cat sees a dog"
	$(VENV)/bin/rasp run programs/reverse.rasp --input "hello" --json
	$(VENV)/bin/rasp layers programs/sort_by_most_freq.rasp
	$(VENV)/bin/rasp draw programs/sort.rasp --input hello -o $(DEMO_OUT)/sort-graph.$$(command -v dot >/dev/null && echo svg || echo dot)
	$(VENV)/bin/rasp compile programs/sort.rasp --vocab a,b,c,d,e --max-len 8 -o $(DEMO_OUT)/sort.safetensors --force
	$(VENV)/bin/rasp verify programs/dyck1.rasp --vocab "(,),a" --max-len 10
	$(VENV)/bin/rasp show-model $(DEMO_OUT)/sort.safetensors --input cabed -o $(DEMO_OUT)/sort-model.png
	@echo "demo pictures and weights are in $(DEMO_OUT)/"

bench: $(STAMP)
	$(PY) bench/bench_interpreter.py
	$(PY) bench/bench_compile.py

# Long (minutes per program): compile + verify time, memory and size against max_len.
bench-scale: $(STAMP)
	$(PY) bench/bench_scale.py --plot bench-scale.png

lint: $(STAMP)
	$(VENV)/bin/ruff check rasp tests bench

clean:
	rm -rf $(VENV)
