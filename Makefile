# colachat: `make run` starts the service, `make test` sets up and runs every test.
GO ?= go
BIN := bin/colachat

.PHONY: run build test setup test-web test-go test-node lint

run:
	$(GO) run ./cmd/colachat

build:
	$(GO) build -o $(BIN) ./cmd/colachat
	$(GO) build -o bin/socketio-conformance ./cmd/socketio-conformance

# setup installs what the tests need on a fresh machine: Node packages and Debian's Chromium.
setup:
	./scripts/setup-test-deps.sh

test: setup build lint test-web test-go test-node

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	./scripts/staticcheck.sh

# The web UI is committed built (so `go build` needs no Node); this fails when the committed
# build differs from what the source builds to.
test-web:
	bash web/scripts/check-build.sh

test-go:
	$(GO) test -race -count=1 ./...

# Each suite's files are named explicitly: Node's default discovery would also load the
# harness modules under test/ as tests.
NODE_SUITES := socketio contract cluster browser

test-node:
	cd test && COLACHAT_BIN=$(CURDIR)/$(BIN) CONFORMANCE_BIN=$(CURDIR)/bin/socketio-conformance \
		node --test --test-concurrency=1 $(patsubst test/%,%,$(foreach s,$(NODE_SUITES),$(wildcard test/$(s)/*.test.mjs)))
