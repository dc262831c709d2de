# The two commands of the README, and what they need. Everything builds in release mode, so
# the demo, the tests and the benchmark share one build.

SAMPLES := $(sort $(filter-out %.expected.ndjson %.md,$(wildcard parsers/alb/samples/*)))

.PHONY: demo test bench toolchain

# Runs the bundled ALB samples through the Wasm plugin into ./out: OpenSearch _bulk files per
# daily index, and dead letters with their reasons.
demo: toolchain
	cargo build --release --bin kelk --bin kelk-plugin
	rm -rf out
	wasm=$$(./target/release/kelk-plugin build parsers/alb | tail -n 1) && \
		./target/release/kelk ingest --plugin "$$wasm" --out out $(SAMPLES)
	@ls out

# Formatting, lints, and every test (unit, golden, sandbox, corpus, CLI).
test: toolchain
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings
	cargo test --release

# ALB throughput natively and through Wasm (see BENCHMARKS.md).
bench: toolchain
	cargo bench -p kelk-tests --bench throughput

# The pinned toolchain (rust-toolchain.toml) and its wasm32-wasip2 target.
toolchain:
	rustup toolchain install
	rustup target add wasm32-wasip2
