# The two commands a newcomer needs:
#   make example   prints a real scenario's manifests (the TF Serving canary)
#   make test      runs the whole test suite, installing what it needs
SHELL := /bin/bash
TOOLS ?= $(or $(MLMESH_TOOLS),$(HOME)/.cache/mlmesh/tools)

.PHONY: example test check unit conformance fuzz-short fuzz-long tools update bench bench-apply bench-scope fuzz

example:
	go run ./examples/tfserving-canary

# The whole suite: format and vet, the library's tests, then the conformance
# suite against Istio 1.31 and a real kube-apiserver 1.36 (built on first run).
test: check unit conformance fuzz-short

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	cd apply/crapply && go vet ./...
	cd conformance && go vet ./...

unit:
	go test ./...
	go test -race -run Concurrent ./render/

tools:
	internal/tools/install.sh "$(TOOLS)"

conformance: tools
	cd conformance && MLMESH_TOOLS="$(TOOLS)" MLMESH_REQUIRE_APISERVER=1 go test -count=1 -timeout 30m ./...

# Refresh golden files after an intended output change.
update:
	MLMESH_UPDATE_GOLDEN=1 go test ./...

bench:
	go test -run XXX -bench . -benchmem ./examples/fleet/

# Apply cost against kubectl on the suite's kube-apiserver (about 3 minutes).
bench-apply: tools
	cd conformance && MLMESH_TOOLS="$(TOOLS)" MLMESH_APPLY_BENCH=1 go test -count=1 -timeout 30m -run TestApplyCost -v .

# What one model's sidecar receives from Istio's config generator, in Apps of
# 10 and 1,000 models, with and without Namespace.ScopeSidecars.
bench-scope:
	cd conformance && MLMESH_SCOPE_BENCH=1 go test -count=1 -timeout 30m -run TestSidecarScopingCost -v .

fuzz:
	go test -run XXX -fuzz FuzzScalar -fuzztime 60s ./internal/canon/

# Differential fuzzing of Apps against Istio (conformance/fuzz_test.go):
# a bounded run in make test, and as long as FUZZTIME says (default 1h).
# A finding is written to conformance/testdata/fuzz/FuzzApp/; commit
# it with the fix, and it runs in every test from then on.
FUZZTIME ?= 1h
# Fuzzing in make test starts from the seeds and the inputs kept in
# testdata, in a fresh corpus cache: the cache that long runs grow in
# GOCACHE would take the whole time to re-measure, and nothing be fuzzed.
# Its budgets are counts of executions, not durations: Go 1.26's fuzzing
# coordinator can fail a duration-bounded run with "context deadline
# exceeded" as the time runs out (go.dev/issue/75804, fixed in Go 1.27).
fuzz-short: tools
	d=$$(mktemp -d) && cd conformance && \
	MLMESH_TOOLS="$(TOOLS)" go test -run XXX -fuzz FuzzApp -fuzztime 6000x . -args -test.fuzzcachedir=$$d/app && \
	MLMESH_TOOLS="$(TOOLS)" go test -run XXX -fuzz FuzzLeafSpecs -fuzztime 8000x . -args -test.fuzzcachedir=$$d/leaf && \
	cd ../internal/canon && go test -run XXX -fuzz FuzzScalar -fuzztime 100000x . -args -test.fuzzcachedir=$$d/scalar && \
	rm -rf $$d

fuzz-long: tools
	cd conformance && MLMESH_TOOLS="$(TOOLS)" go test -run XXX -fuzz FuzzApp -fuzztime $(FUZZTIME) .
	cd conformance && MLMESH_TOOLS="$(TOOLS)" go test -run XXX -fuzz FuzzLeafSpecs -fuzztime $(FUZZTIME) .
