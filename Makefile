# ferroha: build, install, package.
PREFIX  ?= /usr
DESTDIR ?=
OCFDIR  ?= $(PREFIX)/lib/ocf/resource.d/ferroha
AGENTS  := vip mariadb volume restapi
CARGO   ?= cargo
# Agents are linked statically (crt-static): no dynamic loader on every monitor, and nothing to
# break when a shared library changes. An explicit --target keeps the flag off build scripts and
# proc-macros.
TRIPLE  ?= $(shell rustc -vV | sed -n 's/^host: //p')
RELEASE := target/$(TRIPLE)/release
MANDIR  := target/man

.PHONY: all build man install uninstall deb test bench bench-failover bench-floor bench-volume clean

all: build

build:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --workspace --target $(TRIPLE)

# Every man page into target/man: the agents' generated from their parameter tables, ferroha-api's
# and ferroha-check's copied from their crates (crates/<crate>/man/).
man: build
	$(RELEASE)/ferroha-xtask man $(MANDIR)

install: build man
	install -d $(DESTDIR)$(OCFDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/ferroha/agents \
		$(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	for a in $(AGENTS); do install -m 0755 $(RELEASE)/$$a $(DESTDIR)$(OCFDIR)/$$a; done
	install -m 0755 $(RELEASE)/ferroha-mariadb-rebuild $(DESTDIR)$(PREFIX)/sbin/ferroha-mariadb-rebuild
	install -m 0755 $(RELEASE)/ferroha-check $(DESTDIR)$(PREFIX)/bin/ferroha-check
	install -m 0755 $(RELEASE)/ferroha-api $(DESTDIR)$(PREFIX)/bin/ferroha-api
	install -m 0644 $(MANDIR)/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 0644 $(MANDIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MANDIR)/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ferroha/
	install -m 0644 docs/agents/*.md $(DESTDIR)$(PREFIX)/share/doc/ferroha/agents/

uninstall:
	for a in $(AGENTS); do rm -f $(DESTDIR)$(OCFDIR)/$$a; done
	-rmdir $(DESTDIR)$(OCFDIR)
	rm -f $(DESTDIR)$(PREFIX)/bin/ferroha-check $(DESTDIR)$(PREFIX)/share/man/man1/ferroha-check.1
	rm -f $(DESTDIR)$(PREFIX)/bin/ferroha-api $(DESTDIR)$(PREFIX)/share/man/man1/ferroha-api.1
	rm -f $(DESTDIR)$(PREFIX)/sbin/ferroha-mariadb-rebuild \
		$(DESTDIR)$(PREFIX)/share/man/man8/ferroha-mariadb-rebuild.8
	for a in $(AGENTS); do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/ocf_ferroha_$$a.7; done
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/ferroha

# One .deb, named ferroha, with every agent, ferroha-api, ferroha-check, ferroha-mariadb-rebuild, the
# man pages and the docs (package.metadata.deb of the ferroha-xtask package, xtask/Cargo.toml).
deb: build man
	$(CARGO) deb --no-build --package ferroha-xtask --target $(TRIPLE)

test:
	scripts/test.sh

bench:
	bench/run.sh

# Not part of `make bench` (about 2 minutes): every agent's monitor beside a static `busybox true`
# exec in the same hyperfine run (bench/floor.sh).
bench-floor:
	bench/floor.sh

# Not part of `make bench` (about 11 minutes): two 3-node labs in turn, the ferroha stack and its
# heartbeat anchor, 10 power-offs of the primary each, and the idle cost of each lab.
bench-failover:
	bench/failover.sh

# Not part of `make bench` (about 8 minutes): volume monitor vs LINBIT's drbd monitor inside the
# emulated (TCG) qemu guests of the DRBD suite (tests/drbd/packages.sh once).
bench-volume:
	bench/volume.sh

clean:
	$(CARGO) clean
