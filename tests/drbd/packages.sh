#!/usr/bin/env bash
# Host packages the DRBD qemu suite needs (run as root, once; scripts/setup.sh should call this).
# qemu-system itself is NOT installed (Debian 12's qemu-system conflicts with the host's backported
# qemu-utils): build-images.sh downloads and extracts it. These are its runtime libraries, filtered
# from `apt-get install -s --no-install-recommends qemu-system-x86`, plus what the image build uses.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static cpio \
  qemu-utils libbrlapi0.8 libcacard0 libcapstone4 libdaxctl1 libepoxy0 libexecs0 libfdt1 liborc-0.4-0 \
  libgstreamer-plugins-base1.0-0 libibverbs1 libndctl6 libopus0 libpmem1 librdmacm1 libslirp0 \
  libsndio7.0 libspice-server1 libusb-1.0-0 libusbredirparser1 libvdeplug2 \
  e2fsprogs libxml2-utils resource-agents time strace psmisc
