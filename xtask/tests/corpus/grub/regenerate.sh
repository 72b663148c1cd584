#!/bin/sh
# Regenerates the grub.cfg files of this directory with Debian's real
# grub-mkconfig (../../../src/e2e/fixtures/grub-mkconfig.sh says how it runs
# without root on a staged tree). Needs grub2-common and grub-common
# (cargo xtask host-deps --test). The kernels are empty files: grub-mkconfig
# only looks at their names.
#
#   sh xtask/tests/corpus/grub/regenerate.sh [KERNEL-VERSION]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gen=$here/../../../src/e2e/fixtures/grub-mkconfig.sh
V=${1:-6.1.0-57-amd64}
U1=0e2e0014-0001-4000-8000-000000000001
U2=0e2e0014-0002-4000-8000-000000000002
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
one() { # NAME LAYOUT "MORE KERNELS" EXTRA
  r=$tmp/$1/root
  mkdir -p "$r/boot"
  for k in $V $3; do : >"$r/boot/vmlinuz-$k"; : >"$r/boot/initrd.img-$k"; done
  sh "$gen" "$r" "$tmp/$1" "$2" $U1 $U2 "$4" 2>"$tmp/$1.log" || { cat "$tmp/$1.log" >&2; exit 1; }
  cp "$r/boot/grub/grub.cfg" "$here/$1.cfg"
  echo "$1.cfg: layout $2, kernels $V $3"
}
one debian-mkconfig-onepart one "" ""
one debian-mkconfig-sepboot sep "" ""
one debian-mkconfig-3kernels-default-path one "6.1.0-56-amd64 6.1.0-9-amd64" \
  'GRUB_DEFAULT="gnulinux-advanced-'$U1'>gnulinux-6.1.0-56-amd64-advanced-'$U1'"\n'
one debian-mkconfig-saved-nosubmenu one "6.1.0-56-amd64" \
  'GRUB_DEFAULT=saved\nGRUB_SAVEDEFAULT=true\nGRUB_DISABLE_SUBMENU=y\nGRUB_TIMEOUT_STYLE=hidden\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash e2e.label=debian"\n'
one debian-mkconfig-norecovery-sepboot sep "6.1.0-56-amd64" \
  'GRUB_DISABLE_RECOVERY=true\nGRUB_TIMEOUT=5\nGRUB_DEFAULT="1>0"\n'
