# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Lambda builds: linux/arm64, static, stripped, without the RPC shim.
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags="-s -w"
ARTIFACTS_DIR ?= build
# The client conformance suite: a Node project run by a Go test.
CLIENTS := scripts/clients

.PHONY: run test build lint bench fuzz clean clients build-RouterFunction build-ChatFunction build-HealthCheckFunction

## run: the router on 127.0.0.1:8080 with the built-in default config (or ROUTER_CONFIG)
run:
	$(GO) run ./functions/router

## test: everything CI runs (the AWS tests need moto_server; the template needs cfn-lint and
## aws-sam-translator; the client conformance suite needs Node and npm)
test: lint $(CLIENTS)/node_modules/.package-lock.json
	@command -v moto_server >/dev/null || { echo "moto_server is not on PATH: pip install 'moto[server]' (the DynamoDB, Secrets Manager and Lambda tests run against it)"; exit 1; }
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is not on PATH: pip install cfn-lint"; exit 1; }
	cfn-lint template.yaml
	cfn-lint template.yaml --parameter-files infra/cfn-lint-all-options.json
	CLIENTS_REQUIRED=1 $(GO) test -race -count=1 ./...
	$(MAKE) fuzz FUZZTIME=10s

# The official Node SDKs against the router (scripts/clients): npm ci whenever
# package-lock.json is newer than the installed packages.
$(CLIENTS)/node_modules/.package-lock.json: $(CLIENTS)/package-lock.json $(CLIENTS)/package.json
	@command -v npm >/dev/null || { echo "npm is not on PATH: install Node 20 or later (the client conformance suite needs it)"; exit 1; }
	cd $(CLIENTS) && npm ci --no-audit --no-fund
	@touch $@

## clients: only the client conformance suite
clients: $(CLIENTS)/node_modules/.package-lock.json
	CLIENTS_REQUIRED=1 $(GO) test -count=1 ./$(CLIENTS)

## fuzz: the edge's fuzz targets, each for FUZZTIME (seed corpora in testdata/fuzz)
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseChat$$' -fuzztime $(FUZZTIME) ./shared/llm
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./shared/rawjson
	$(GO) test -run '^$$' -fuzz '^FuzzAuth$$' -fuzztime $(FUZZTIME) ./shared/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzUpstreamErrorBodies$$' -fuzztime $(FUZZTIME) ./shared/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzUpstreamErrorsLeakNothing$$' -fuzztime $(FUZZTIME) ./shared/provider
	$(GO) test -run '^$$' -fuzz '^FuzzRequestText$$' -fuzztime $(FUZZTIME) ./shared/scrub
	$(GO) test -run '^$$' -fuzz '^FuzzSecrets$$' -fuzztime $(FUZZTIME) ./shared/scrub

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## build: Lambda bootstrap binaries for linux/arm64 under build/
build:
	$(MAKE) build-RouterFunction ARTIFACTS_DIR=$(ARTIFACTS_DIR)/router
	$(MAKE) build-HealthCheckFunction ARTIFACTS_DIR=$(ARTIFACTS_DIR)/healthcheck

# sam build (BuildMethod: makefile) calls these with ARTIFACTS_DIR set. The
# chat and router functions run the same binary.
build-RouterFunction build-ChatFunction:
	mkdir -p $(ARTIFACTS_DIR)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/router

build-HealthCheckFunction:
	mkdir -p $(ARTIFACTS_DIR)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/healthcheck

## bench: Go benchmarks of the request path
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

clean:
	rm -rf build .aws-sam
