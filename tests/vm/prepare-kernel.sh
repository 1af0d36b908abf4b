#!/usr/bin/env bash
# Fetch and unpack the Debian kernel the VM harness boots; build its initramfs.
#
#   tests/vm/prepare-kernel.sh [CACHE_DIR]     (default: tests/vm/.cache)
#
# Idempotent and offline once done. Needs: apt-get (Debian's mirror), dpkg,
# busybox-static, cpio, gzip, xz. The kernel package is downloaded, never installed:
# `dpkg -x` unpacks it into the cache. Debian's generic `-amd64` flavour is used
# because the `-cloud-amd64` one lacks the 9p filesystem the harness needs.
#
# Result in CACHE_DIR: vmlinuz, initramfs.cpio.gz, kernel.version (and modules/,
# the few modules the initramfs carries).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/.cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
# Several test sessions may boot VMs at once: one prepares, the others wait.
exec 9>"$cache/.lock"
flock 9

# The 9p client and the virtio transport, in dependency order.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
         netfs fscache 9pnet 9pnet_virtio 9p)

# 1. The kernel package: whatever linux-image-amd64 points at today.
if [[ ! -s "$cache/kernel.version" ]]; then
    pkg="${SUPERNETES_VM_KERNEL_PKG:-}"
    if [[ -z "$pkg" ]]; then
        pkg="$(apt-cache depends linux-image-amd64 2>/dev/null \
               | sed -n 's/^ *Depends: \(linux-image-[0-9.]*-[0-9]*-amd64\)\(-unsigned\)\?$/\1/p' | head -n1)"
    fi
    if [[ -z "$pkg" ]]; then
        apt-get update -q >/dev/null
        pkg="$(apt-cache depends linux-image-amd64 \
               | sed -n 's/^ *Depends: \(linux-image-[0-9.]*-[0-9]*-amd64\)$/\1/p' | head -n1)"
    fi
    [[ -n "$pkg" ]] || { echo "prepare-kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
    echo "prepare-kernel: downloading $pkg"
    rm -rf "$cache/deb" "$cache/root"
    mkdir -p "$cache/deb"
    if ! (cd "$cache/deb" && apt-get download -q "$pkg" >/dev/null 2>&1); then
        apt-get update -q >/dev/null
        (cd "$cache/deb" && apt-get download -q "$pkg")
    fi
    dpkg -x "$cache"/deb/*.deb "$cache/root"
    version="$(basename "$(find "$cache/root/lib/modules" -mindepth 1 -maxdepth 1 | head -n1)")"
    cp "$cache/root/boot/vmlinuz-$version" "$cache/vmlinuz"
    # Keep only what the initramfs needs (the unpacked package is ~400 MB).
    rm -rf "$cache/modules"
    mkdir -p "$cache/modules"
    for module in "${MODULES[@]}"; do
        found="$(find "$cache/root/lib/modules/$version" -name "$module.ko*" | head -n1)"
        [[ -n "$found" ]] || { echo "prepare-kernel: module $module missing from $pkg" >&2; exit 1; }
        case "$found" in
            *.ko.xz) xz -dc "$found" > "$cache/modules/$module.ko" ;;
            *.ko.zst) zstd -qdc "$found" > "$cache/modules/$module.ko" ;;
            *) cp "$found" "$cache/modules/$module.ko" ;;
        esac
    done
    rm -rf "$cache/root" "$cache/deb"
    echo "$version" > "$cache/kernel.version"
fi
version="$(cat "$cache/kernel.version")"

# 2. The initramfs: static busybox, the 9p modules, and our init script.
initrd="$cache/initramfs.cpio.gz"
if [[ ! -s "$initrd" || "$here/init" -nt "$initrd" || "$0" -nt "$initrd" ]]; then
    staging="$(mktemp -d "$cache/initramfs.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    mkdir -p "$staging"/{bin,dev,proc,sys,host,out,modules}
    cp /bin/busybox "$staging/bin/busybox"
    # The initramfs has no libc: busybox must be the static build (ldd fails on it).
    if ldd "$staging/bin/busybox" >/dev/null 2>&1; then
        echo "prepare-kernel: /bin/busybox is not static (apt-get install busybox-static)" >&2
        exit 1
    fi
    for applet in sh mount umount insmod mkdir cat echo chroot poweroff sleep sync; do
        ln -s busybox "$staging/bin/$applet"
    done
    printf '%s\n' "${MODULES[@]}" > "$staging/modules/order"
    cp "$cache"/modules/*.ko "$staging/modules/"
    install -m 0755 "$here/init" "$staging/init"
    (cd "$staging" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
fi
echo "prepare-kernel: $version ready in $cache"
