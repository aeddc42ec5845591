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

.PHONY: all build man install uninstall deb test bench bench-failover bench-volume clean

all: build

build:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --workspace --target $(TRIPLE)

man: build
	$(RELEASE)/ferroha-xtask man $(MANDIR)

install: build man
	install -d $(DESTDIR)$(OCFDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/ferroha/agents
	for a in $(AGENTS); do install -m 0755 $(RELEASE)/$$a $(DESTDIR)$(OCFDIR)/$$a; done
	install -m 0755 $(RELEASE)/ferroha-check $(DESTDIR)$(PREFIX)/bin/ferroha-check
	install -m 0755 $(RELEASE)/ferroha-api $(DESTDIR)$(PREFIX)/bin/ferroha-api
	install -m 0644 $(MANDIR)/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 0644 $(MANDIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ferroha/
	install -m 0644 docs/agents/*.md $(DESTDIR)$(PREFIX)/share/doc/ferroha/agents/

uninstall:
	for a in $(AGENTS); do rm -f $(DESTDIR)$(OCFDIR)/$$a; done
	-rmdir $(DESTDIR)$(OCFDIR)
	rm -f $(DESTDIR)$(PREFIX)/bin/ferroha-check $(DESTDIR)$(PREFIX)/share/man/man1/ferroha-check.1
	rm -f $(DESTDIR)$(PREFIX)/bin/ferroha-api $(DESTDIR)$(PREFIX)/share/man/man1/ferroha-api.1
	for a in $(AGENTS); do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/ocf_ferroha_$$a.7; done
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/ferroha

# One .deb with every agent, ferroha-check, the man pages and the docs (metadata in xtask/Cargo.toml).
deb: build man
	$(CARGO) deb --no-build --package ferroha --target $(TRIPLE)

test:
	scripts/test.sh

bench:
	bench/run.sh

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
