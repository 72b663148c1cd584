# gen-kexec runtime library, /lib/gen-kexec in the bootloader's initramfs:
# what /boot/kexec.sourceme calls. Sourcing this file defines functions
# only. GK_LIB says where the library is (the host tests point it at the
# source tree).
#
# Besides ash's builtins the library runs only these busybox applets (the
# busybox recipe checks the build has them):
# applets: awk blkid cat losetup mkdir mkfifo mount mv rm sleep stty umount wc
# and kexec (kexec-tools), next to busybox in the initramfs.
GK_LIB=${GK_LIB:-/lib/gen-kexec}
for gk_part in common conf syslinux grub entries model menu disk boot; do
	. "$GK_LIB/$gk_part.sh" || return 1
done
unset gk_part
