# The two commands of the README, and what they need. Everything builds in release mode, so
# the demo, the tests and the benchmark share one build.

PARSERS := alb cloudfront apache cloudtrail vpcflow s3access waf route53

.PHONY: demo host package test bench bench-peers toolchain fuzz fuzz-tools deny-tools

# Builds the plugins, then runs every parser's bundled sample logs through them (routed by
# parsers/samples.routes.json) into ./out: OpenSearch _bulk files per daily index, and dead
# letters with their reasons.
demo: host
	rm -rf out
	./target/release/kelk ingest --routes parsers/samples.routes.json --out out \
		$$(ls parsers/*/samples/* | grep -v -e '\.expected\.ndjson$$' -e '\.md$$')
	@ls out

# The tools (with the four bundled plugins built in), the Lambda host, and every plugin as
# a component (target/wasm32-wasip2/release/*.wasm).
host: toolchain
	cargo build --release --bin kelk --bin kelk-plugin --bin kelk-lambda
	@for parser in $(PARSERS); do ./target/release/kelk-plugin build parsers/$$parser | tail -n 1 || exit 1; done

# The host's Lambda package for provided.al2023 on arm64 (runtime/package-lambda).
package: toolchain
	runtime/package-lambda arm64

# Formatting, lints, the dependency audit (deny.toml: bans, licenses, sources; not advisories), that the SDK and the sandbox package on their own, and every test (unit, golden, sandbox, corpus, CLI, OpenSearch, the Lambda
# host end to end), a 15-second run of each fuzz target (the parsers', the Lambda events' decoding), then the offline Terraform checks (fmt, validate, terraform test with a
# mocked provider, checkov). Real servers run for the tests and are stopped after them:
# OpenSearch (tests/servers/opensearch; a second node taking bodies of at most 1 MB, for
# 413s; two for tests/tests/faults_cluster.rs, a node it kills with kill -9 and starts again on
# its data, and one whose write pool has 1 thread and a queue of 1, for real 429s, both started
# at once; a fifth with the security plugin, tests/servers/opensearch-secure), an S3 server
# (tests/servers/s3; a second one enforcing IAM), the Lambda Runtime Interface Emulator (tests/servers/lambda-emulator)
# that each host test starts, and toxiproxy (tests/servers/toxiproxy), through which
# tests/tests/faults.rs injects network faults.
SMALL_BODIES := KELK_TEST_OPENSEARCH_PORT=9251 KELK_TEST_OPENSEARCH_SETTINGS=-Ehttp.max_content_length=1mb
# The JIT's first tier only: these two start in half the time, and need not index fast.
KILLABLE_SEARCH := KELK_TEST_OPENSEARCH_PORT=9252 KELK_TEST_OPENSEARCH_JAVA_OPTS=-XX:TieredStopAtLevel=1
BUSY_SEARCH := KELK_TEST_OPENSEARCH_PORT=9253 KELK_TEST_OPENSEARCH_JAVA_OPTS=-XX:TieredStopAtLevel=1 \
	KELK_TEST_OPENSEARCH_SETTINGS="-Ethread_pool.write.size=1 -Ethread_pool.write.queue_size=1"
SECURE_SEARCH := KELK_TEST_OPENSEARCH_SECURE=https://127.0.0.1:9270 \
	KELK_TEST_OPENSEARCH_SECURE_CA=/tmp/kelk-servers/opensearch-secure-state-9270/root-ca.pem \
	KELK_TEST_OPENSEARCH_SECURE_USER=admin KELK_TEST_OPENSEARCH_SECURE_PASSWORD=Kelk-Secure-Test-9270
S3_IAM := KELK_TEST_S3_PORT=9261 KELK_TEST_S3_ENFORCE_IAM=1
TEST_SERVERS := KELK_TEST_OPENSEARCH=http://127.0.0.1:9250 KELK_TEST_OPENSEARCH_SMALL_BODIES=http://127.0.0.1:9251 \
	KELK_TEST_OPENSEARCH_KILLABLE=http://127.0.0.1:9252 KELK_TEST_OPENSEARCH_BUSY=http://127.0.0.1:9253 \
	$(SECURE_SEARCH) KELK_TEST_S3=http://127.0.0.1:9260 KELK_TEST_S3_IAM=http://127.0.0.1:9261 KELK_TEST_TOXIPROXY=http://127.0.0.1:8474 \
	AWS_ENDPOINT_URL_S3=http://127.0.0.1:9260 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

test: toolchain fuzz-tools deny-tools
	cargo fmt --all -- --check
	cargo deny check bans licenses sources
	cargo clippy --release --all-targets -- -D warnings
	cargo package --quiet --no-verify --allow-dirty -p kelk-parser-sdk -p kelk-sandbox
	cargo build --release --tests --bins --examples
	tests/servers/opensearch start
	$(SMALL_BODIES) tests/servers/opensearch start
	$(KILLABLE_SEARCH) tests/servers/opensearch start & killable=$$!; $(BUSY_SEARCH) tests/servers/opensearch start & busy=$$!; \
		wait $$killable && wait $$busy
	tests/servers/s3 start
	$(S3_IAM) tests/servers/s3 start
	tests/servers/opensearch-secure start
	tests/servers/toxiproxy start
	$(TEST_SERVERS) KELK_TEST_LAMBDA_EMULATOR=$$(tests/servers/lambda-emulator) cargo test --release; \
		status=$$?; tests/servers/toxiproxy stop; tests/servers/opensearch-secure stop; tests/servers/s3 stop; $(S3_IAM) tests/servers/s3 stop; \
		$(BUSY_SEARCH) tests/servers/opensearch stop; $(KILLABLE_SEARCH) tests/servers/opensearch stop; \
		$(SMALL_BODIES) tests/servers/opensearch stop; tests/servers/opensearch stop; exit $$status
	KELK_FUZZ_SECONDS=15 fuzz/run
	infra/check

# ALB throughput natively and through Wasm (see BENCHMARKS.md).
bench: toolchain
	cargo bench -p kelk-tests --bench throughput

# Parse throughput beside the peers' (VRL, regex + serde_json, serde_json) in the same run (see
# BENCHMARKS.md). Builds VRL, which nothing else does.
bench-peers: toolchain
	cargo bench -p kelk-peers

# The fuzz targets (fuzz/run: cargo-fuzz on nightly, seeded with parsers/*/samples and
# fuzz/seeds), FUZZ_SECONDS each; corpora and crashes under ~/.cache/kelk/fuzz. `make test` runs them 15 s each.
FUZZ_SECONDS ?= 300
fuzz: fuzz-tools
	KELK_FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run

# What fuzz/run needs besides the pinned toolchain: nightly (libFuzzer's instrumentation) and
# cargo-fuzz, each installed only when missing.
fuzz-tools:
	rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2

# cargo-deny for the dependency audit, installed only when missing. `make test` checks bans,
# licenses and sources, not advisories: RustSec's database comes from github.com, which CI here
# cannot reach; `cargo deny check advisories` checks them where it can (see deny.toml).
deny-tools:
	cargo deny --version >/dev/null 2>&1 || cargo install cargo-deny --locked --version 0.20.2

# The pinned toolchain (rust-toolchain.toml) and its wasm32-wasip2 target.
toolchain:
	rustup toolchain install
	rustup target add wasm32-wasip2
