# The two commands a new user needs: `make demo` and `make test`.
.PHONY: all build release lint test demo bench dist install install-files install-separate emulators-up emulators-down clean

# `make install` (PREFIX=/usr/local, DESTDIR for packaging): the release
# binaries, the docker-credential-ecr-login link, completions and man pages.
PREFIX ?= /usr/local
BUILD ?= release
TOOLS := ecr-login oci-push taskdef-render ecs-deploy ecs-wait ecs-run

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

# The release archive and SHA256SUMS (target/dist; scripts/dist.sh --help),
# then the whole suite with every tool called through a link to the
# multicall binary.
dist:
	scripts/dist.sh
	DEPLOY_TESTS_LINKS=$(CURDIR)/target/debug/links scripts/test.sh

# For working by hand: eval "$(make -s emulators-up)"
emulators-up:
	@scripts/emulators.sh up

emulators-down:
	@scripts/emulators.sh down

# The multicall binary `deploykit` and a link to it named as each tool
# (and docker-credential-ecr-login): one binary, one build.
install:
	cargo build --release -p deploykit-cli -p dist
	$(MAKE) install-files BUILD=release

# The files alone, from target/$(BUILD) as built (the install test uses debug).
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 target/$(BUILD)/deploykit $(DESTDIR)$(PREFIX)/bin/
	scripts/links.sh $(DESTDIR)$(PREFIX)/bin deploykit
	target/$(BUILD)/dist $(DESTDIR)$(PREFIX)

# The six separate binaries instead (cargo install --path crates/TOOL
# installs one).
install-separate:
	cargo build --release $(foreach t,$(TOOLS),-p $(t)) -p dist
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(foreach t,$(TOOLS),target/release/$(t)) $(DESTDIR)$(PREFIX)/bin/
	ln -sf ecr-login $(DESTDIR)$(PREFIX)/bin/docker-credential-ecr-login
	target/release/dist $(DESTDIR)$(PREFIX)

clean:
	cargo clean
