# One-command set-up: `make test` and `make demo` build .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench bench-scale table1 lint clean

setup: $(STAMP)

# torch is pinned to the CPU wheel that this machine carries; users elsewhere get torch>=2.2.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,draw,torch]'
	@command -v dot >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && (apt-get install -y -q graphviz >/dev/null 2>&1 || sudo -n apt-get install -y -q graphviz >/dev/null 2>&1) || echo "note: graphviz 'dot' not installed; 'rasp draw' will explain how to get it")
	@command -v chromium >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) || sudo -n apt-get install -y -q chromium >/dev/null 2>&1) || echo "note: chromium not installed; the browser test of 'rasp view' will be skipped")
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

DEMO_OUT ?= demo-output

# Interpret, analyse, draw, compile to weights, verify and picture a model, end to end.
demo: $(STAMP)
	mkdir -p $(DEMO_OUT)
	$(VENV)/bin/rasp run programs/sort.rasp --input "hello"
	$(VENV)/bin/rasp run programs/translate.rasp --words --input "the small cat does not see the black dogs"
	$(VENV)/bin/rasp run programs/reverse.rasp --input "hello" --json
	$(VENV)/bin/rasp layers programs/sort_by_most_freq.rasp
	$(VENV)/bin/rasp draw programs/sort.rasp --input hello -o $(DEMO_OUT)/sort-graph.$$(command -v dot >/dev/null && echo svg || echo dot) --force
	$(VENV)/bin/rasp compile programs/sort.rasp --vocab a,b,c,d,e --max-len 8 -o $(DEMO_OUT)/sort.safetensors --force
	$(VENV)/bin/rasp verify programs/dyck1.rasp --vocab "(,),a" --max-len 10
	$(VENV)/bin/rasp show-model $(DEMO_OUT)/sort.safetensors --input cabed -o $(DEMO_OUT)/sort-model.png --force
	$(VENV)/bin/rasp trace programs/sort.rasp --vocab e,h,l,o --max-len 5 --input hello
	$(VENV)/bin/rasp view programs/sort.rasp --vocab e,h,l,o --max-len 5 --input hello -o $(DEMO_OUT)/sort-view.html --force
	$(VENV)/bin/rasp run programs/grammaticality.rasp --words --input "the small cats sleep in the garden"
	$(VENV)/bin/rasp run programs/grammaticality.rasp --words --input "the small cats sleeps in the garden"
	$(VENV)/bin/rasp run programs/sentiment.rasp --words --input "the plot is dull but the jokes are not bad"
	$(VENV)/bin/rasp eval programs/sentiment.rasp programs/corpora/sentiment.tsv --classify --compiled
	$(VENV)/bin/rasp eval programs/grammaticality.rasp programs/corpora/grammaticality.tsv --classify --compiled
	$(VENV)/bin/rasp eval programs/translate.rasp programs/corpora/en_fr.tsv --compiled --show 3
	@echo "demo pictures and weights are in $(DEMO_OUT)/"

bench: $(STAMP)
	$(PY) bench/bench_interpreter.py
	$(PY) bench/bench_compile.py
	$(PY) bench/bench_corpora.py
	$(PY) bench/readme_figures.py --all

# Learned versus compiled (RASP paper Table 1 at CPU scale; the README's "Table 1" section
# says how long it took, on how many cores); e.g.
# make table1 TABLE1_ARGS="--quick"   or   TABLE1_ARGS="--out-dir table1 --device cuda --jobs 8".
TABLE1_ARGS ?=
table1: $(STAMP)
	$(PY) bench/table1.py $(TABLE1_ARGS)

# Long (minutes per program): compile + verify time, memory and size against max_len.
bench-scale: $(STAMP)
	$(PY) bench/bench_scale.py --plot bench-scale.png

lint: $(STAMP)
	$(VENV)/bin/ruff check rasp tests bench

clean:
	rm -rf $(VENV)
