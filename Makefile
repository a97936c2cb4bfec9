# The two commands a new user needs: `make demo` and `make test`.
.PHONY: all build release lint test demo bench emulators-up emulators-down clean

all: build

build:
	cargo build --workspace

release:
	cargo build --workspace --release

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Lint, build, emulators up, every test, emulators down.
test:
	scripts/test.sh

# The main job end to end on the local emulators.
demo:
	scripts/demo.sh

# taskdef-render against jq, side by side (hyperfine).
bench:
	scripts/bench.sh

# For working by hand: eval "$(make -s emulators-up)"
emulators-up:
	@scripts/emulators.sh up

emulators-down:
	@scripts/emulators.sh down

clean:
	cargo clean
