# pfdet: `make demo` and `make test` create .venv on first use (Python 3.10 only:
# ChainerCV 0.13.1's sdist does not compile on CPython >= 3.11).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MPIEXEC := $(VENV)/bin/mpiexec
MPIFLAGS := $(shell [ "$$(id -u)" = 0 ] && echo --allow-run-as-root) --oversubscribe
export OMPI_MCA_rmaps_base_oversubscribe := 1

.PHONY: venv test test-fast test-mpi demo bench clean

$(VENV)/.installed: setup.py constraints.txt
	@bash tools/make_venv.sh $(VENV)
	@touch $@

venv: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -m "not mpi and not slow" tests
	$(MPIEXEC) $(MPIFLAGS) -n 2 $(PY) -m pytest -m mpi -p no:cacheprovider tests -q

test-fast: $(VENV)/.installed
	$(PY) -m pytest -x -q -m "not mpi and not slow" tests

demo: $(VENV)/.installed
	$(PY) examples/demo.py --mpiexec "$(MPIEXEC) $(MPIFLAGS)"

bench: $(VENV)/.installed
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
