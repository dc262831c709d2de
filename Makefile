# The two commands of the README, and what they need. Everything builds in release mode, so
# the demo, the tests and the benchmark share one build.

PARSERS := alb cloudfront apache cloudtrail

.PHONY: demo test bench toolchain

# Runs each parser's bundled sample logs through its Wasm plugin into ./out: OpenSearch _bulk
# files per daily index, and dead letters with their reasons.
demo: toolchain
	cargo build --release --bin kelk --bin kelk-plugin
	rm -rf out
	@for parser in $(PARSERS); do \
		wasm=$$(./target/release/kelk-plugin build parsers/$$parser 2>/dev/null | tail -n 1) || exit 1; \
		samples=$$(ls parsers/$$parser/samples/* | grep -v -e '\.expected\.ndjson$$' -e '\.md$$'); \
		echo "== $$parser: $$wasm"; \
		./target/release/kelk ingest --plugin "$$wasm" --out out $$samples || exit 1; \
	done
	@ls out

# Formatting, lints, and every test (unit, golden, sandbox, corpus, CLI), then the offline
# Terraform checks (fmt, validate, terraform test with a mocked provider, checkov).
test: toolchain
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings
	cargo test --release
	infra/check

# ALB throughput natively and through Wasm (see BENCHMARKS.md).
bench: toolchain
	cargo bench -p kelk-tests --bench throughput

# The pinned toolchain (rust-toolchain.toml) and its wasm32-wasip2 target.
toolchain:
	rustup toolchain install
	rustup target add wasm32-wasip2
