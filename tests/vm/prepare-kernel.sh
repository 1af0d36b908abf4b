#!/usr/bin/env bash
# Fetch and unpack the Debian kernel the VM harness boots; build its initramfs.
#
#   tests/vm/prepare-kernel.sh [CACHE_DIR]     (default: tests/vm/.cache)
#
# Idempotent and offline once done. Needs: apt-get (Debian's mirror), dpkg,
# busybox-static, cpio, gzip. The kernel package is downloaded, never installed:
# `dpkg -x` unpacks it into the cache. Debian's generic `-amd64` flavour is used
# because the `-cloud-amd64` one lacks the 9p filesystem the harness needs.
#
# Result in CACHE_DIR: vmlinuz, initramfs.cpio.gz, kernel.version.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/.cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

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
    version="$(ls "$cache/root/lib/modules" | head -n1)"
    cp "$cache/root/boot/vmlinuz-$version" "$cache/vmlinuz"
    rm -f "$cache"/deb/*.deb
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
    file "$staging/bin/busybox" 2>/dev/null | grep -q static \
        || cmp -s /bin/busybox /usr/lib/busybox-static 2>/dev/null \
        || ldd "$staging/bin/busybox" 2>&1 | grep -q "not a dynamic" \
        || { echo "prepare-kernel: /bin/busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
    for applet in sh mount umount insmod mkdir cat echo chroot poweroff sleep ls; do
        ln -s busybox "$staging/bin/$applet"
    done
    : > "$staging/modules/order"
    for module in "${MODULES[@]}"; do
        found="$(find "$cache/root/lib/modules/$version" -name "$module.ko*" | head -n1)"
        [[ -n "$found" ]] || { echo "prepare-kernel: module $module missing from $version" >&2; exit 1; }
        base="$(basename "$found")"
        case "$base" in
            *.ko.xz) xz -dc "$found" > "$staging/modules/$module.ko" ;;
            *.ko.zst) zstd -qdc "$found" > "$staging/modules/$module.ko" ;;
            *.ko.gz) gzip -dc "$found" > "$staging/modules/$module.ko" ;;
            *) cp "$found" "$staging/modules/$module.ko" ;;
        esac
        echo "$module" >> "$staging/modules/order"
    done
    install -m 0755 "$here/init" "$staging/init"
    (cd "$staging" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
fi
echo "prepare-kernel: $version ready in $cache"
