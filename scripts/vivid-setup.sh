#!/usr/bin/env bash
# Makes vivid (the kernel's virtual V4L2 camera driver) available and runs a command with it.
#
#   scripts/vivid-setup.sh [--devices N] -- <command> [args...]
#
# Where the kernel can load modules, it loads vivid (modprobe) and runs the command here.
# Where it cannot (containers, these CI machines: no /proc/modules, no /dev/video*), it boots
# Debian's kernel under qemu (TCG) with an initramfs that loads vivid, shares this machine's
# root filesystem read-only over 9p, and runs the command inside the guest in a chroot of it,
# so the host's node, node_modules and built addon run unchanged. The command's output and
# exit code come back through a writable 9p share.
#
# Beside vivid (raw formats only) the VM loads v4l2loopback, built here from Debian's
# v4l2loopback-dkms source against linux-headers-<VM kernel> (installed when missing): five
# loopback nodes, /dev/video10 to /dev/video14, that a real encoder (ffmpeg, GStreamer) feeds
# with MJPG or H264 inside the VM. vivid gets two spare instances (after the --devices ones)
# for tests that disconnect a device for good.
#
# Environment: SYNCAP_VM_CACHE (kernel + initramfs cache; default <repo>/.cache/vivid-vm),
# SYNCAP_VM_MEM_MB (default 2048), SYNCAP_VM_CPUS (default 2), SYNCAP_VM_TIMEOUT_S (default 1500),
# SYNCAP_VIVID_MODE=vm|host to force a path.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
devices=4
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) devices=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vivid-setup: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "vivid-setup: no command given: scripts/vivid-setup.sh -- <command>" >&2; exit 2; }

# One node per vivid instance: video capture only (node_types bit 0); two spares.
vivid_devs=$((devices + 2))
node_types=$(printf '0x1,%.0s' $(seq 1 "$vivid_devs")); node_types=${node_types%,}
vivid_params="n_devs=$vivid_devs node_types=$node_types"
# v4l2loopback nodes at fixed numbers (test/vivid/vivid-env.ts LOOPBACK_PATHS), one per test that feeds one.
loopback_nrs=(10 11 12 13 14)
join_by() { local IFS=,; echo "$*"; }
loopback_params="devices=${#loopback_nrs[@]} video_nr=$(join_by "${loopback_nrs[@]}")"
loopback_params+=" exclusive_caps=$(join_by $(printf '1 %.0s' "${loopback_nrs[@]}"))"
loopback_params+=" card_label=$(join_by $(for i in "${!loopback_nrs[@]}"; do echo "syncap-loopback-$i"; done))"
log() { echo "vivid-setup: $*" >&2; }

have_host_vivid() {
  [ -e /proc/modules ] || return 1
  if ! grep -q '^vivid ' /proc/modules; then
    modprobe vivid $vivid_params 2>/dev/null || return 1
  fi
  ls /dev/video* >/dev/null 2>&1
}

mode=${SYNCAP_VIVID_MODE:-}
if [ -z "$mode" ]; then
  if have_host_vivid; then mode=host; else mode=vm; fi
fi
if [ "$mode" = host ]; then
  have_host_vivid || { log "SYNCAP_VIVID_MODE=host but vivid cannot be loaded here"; exit 1; }
  log "vivid loaded on this kernel: running the command here"
  # The loopback tests need syncap's nodes; a v4l2loopback the user loaded already is left alone.
  if ! grep -q '^v4l2loopback ' /proc/modules && ! modprobe v4l2loopback $loopback_params 2>/dev/null; then
    log "v4l2loopback could not be loaded (install v4l2loopback-dkms): the loopback tests will say they are skipped"
  fi
  exec "$@"
fi

# ---- VM path --------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v depmod >/dev/null || need_pkgs+=(kmod)
command -v v4l2-ctl >/dev/null || need_pkgs+=(v4l-utils)
command -v make >/dev/null || need_pkgs+=(make)
command -v gcc >/dev/null || need_pkgs+=(gcc)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 || {
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2; }
  else
    msg="missing ${need_pkgs[*]}: install them (apt-get install ${need_pkgs[*]})"
    # Locally a suite whose component is missing says so and skips; under CI it fails.
    if [ "${CI:-}" = "true" ]; then log "$msg"; exit 1; fi
    log "skipping (not under CI): $msg"; exit 0
  fi
fi

cache=${SYNCAP_VM_CACHE:-$repo/.cache/vivid-vm}
mkdir -p "$cache"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -qq >&2 || true
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { log "cannot find the Debian kernel package (apt-cache depends linux-image-amd64)"; exit 1; }
kver=${kpkg#linux-image-}
kroot=$cache/$kpkg
if [ ! -f "$kroot/boot/vmlinuz-$kver" ]; then
  log "fetching $kpkg"
  tmpd=$(mktemp -d)
  (cd "$tmpd" && apt-get download "$kpkg" >&2)
  rm -rf "$kroot" && mkdir -p "$kroot"
  dpkg -x "$tmpd"/*.deb "$kroot"
  rm -rf "$tmpd"
  depmod -b "$kroot" "$kver"
fi

# v4l2loopback for the VM kernel: Debian's DKMS source built against the matching headers,
# cached per kernel. Without it the suites that need a compressed-format device say why.
loopback_ko=$cache/v4l2loopback-$kver.ko
if [ ! -f "$loopback_ko" ]; then
  lb_src=$(ls -d /usr/src/v4l2loopback-* 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$lb_src" ]; then
    lb_root=$cache/v4l2loopback-dkms
    if [ ! -d "$lb_root/usr/src" ]; then
      log "fetching v4l2loopback-dkms (the module's source)"
      tmpd=$(mktemp -d)
      if (cd "$tmpd" && apt-get download v4l2loopback-dkms >&2); then
        rm -rf "$lb_root" && mkdir -p "$lb_root" && dpkg -x "$tmpd"/*.deb "$lb_root"
      fi
      rm -rf "$tmpd"
    fi
    lb_src=$(ls -d "$lb_root"/usr/src/v4l2loopback-* 2>/dev/null | sort -V | tail -n1 || true)
  fi
  headers=/usr/src/linux-headers-$kver
  if [ ! -d "$headers" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing linux-headers-$kver (to build v4l2loopback for the VM kernel)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-headers-$kver" >&2 || {
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-headers-$kver" >&2; } || true
  fi
  if [ -n "$lb_src" ] && [ -d "$headers" ]; then
    log "building v4l2loopback ($(basename "$lb_src")) for $kver"
    lb_build=$(mktemp -d)
    cp -r "$lb_src"/. "$lb_build"/
    if make -C "$headers" M="$lb_build" modules >"$lb_build/build.log" 2>&1 && [ -f "$lb_build/v4l2loopback.ko" ]; then
      cp "$lb_build/v4l2loopback.ko" "$loopback_ko.new" && mv "$loopback_ko.new" "$loopback_ko"
    else
      log "v4l2loopback did not build:"; tail -n 20 "$lb_build/build.log" >&2
    fi
    rm -rf "$lb_build"
  else
    log "no v4l2loopback (source: ${lb_src:-none found}; $headers: $([ -d "$headers" ] && echo present || echo missing))"
  fi
fi
loopback_sum=$( [ -f "$loopback_ko" ] && md5sum "$loopback_ko" | cut -d' ' -f1 || echo none)

modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay
  mc rc-core cec videodev videobuf2-common videobuf2-v4l2 videobuf2-memops videobuf2-vmalloc videobuf2-dma-contig
  v4l2-dv-timings v4l2-tpg vivid)
initrd=$cache/initrd-$kver-$devices.cpio.gz
init_src=$cache/init-$devices.sh
cat > "$init_src.new" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${modules[*]}; do
  p=\$(cat /modpaths/\$m 2>/dev/null) || { echo "init: no module \$m"; continue; }
  if [ "\$m" = vivid ]; then insmod "\$p" $vivid_params; else insmod "\$p" || echo "init: insmod \$m failed"; fi
done
# v4l2loopback $loopback_sum: ${#loopback_nrs[@]} nodes at fixed numbers, capture-only once a producer writes.
[ -f /lib/modules/v4l2loopback.ko ] && { insmod /lib/modules/v4l2loopback.ko $loopback_params || echo "init: insmod v4l2loopback failed"; }
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 host /host || { echo "init: cannot mount host root"; poweroff -f; }
out=\$(cat /proc/cmdline | tr ' ' '\n' | sed -n 's/^syncap.out=//p')
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "/host\$out" || { echo "init: cannot mount out share at \$out"; poweroff -f; }
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm; mount -t devpts devpts /host/dev/pts; mount -t tmpfs tmpfs /host/dev/shm
# Writable scratch that hides nothing of the checkout (CI clones may live under /tmp).
mount -t tmpfs -o size=2g tmpfs /host/run
# The checkout itself becomes writable through an overlay whose upper layer is that tmpfs:
# tools that write caches next to the sources (vite, vitest) work, and the host sees nothing.
repo=\$(cat "/host\$out/overlay" 2>/dev/null)
if [ -n "\$repo" ]; then
  mkdir -p /host/run/overlay/upper /host/run/overlay/work
  mount -t overlay overlay -o "lowerdir=/host\$repo,upperdir=/host/run/overlay/upper,workdir=/host/run/overlay/work" "/host\$repo" || echo "init: cannot overlay \$repo"
fi
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
chroot /host /bin/sh "\$out/run.sh" > "/host\$out/stdout" 2> "/host\$out/stderr"
echo \$? > "/host\$out/exit"
sync
poweroff -f
INIT
if [ ! -f "$initrd" ] || ! cmp -s "$init_src.new" "$init_src"; then
  log "building initramfs for $kver"
  mv "$init_src.new" "$init_src"
  staging=$(mktemp -d)
  mkdir -p "$staging"/{bin,proc,sys,dev,modpaths,lib/modules}
  cp /bin/busybox "$staging/bin/busybox"
  for m in "${modules[@]}"; do
    f=$(find "$kroot/lib/modules/$kver" \( -name "$m.ko" -o -name "${m//-/_}.ko" -o -name "${m//_/-}.ko" \) | head -n1)
    [ -n "$f" ] || { log "kernel $kver has no module $m"; continue; }
    cp "$f" "$staging/lib/modules/"
    echo "/lib/modules/$(basename "$f")" > "$staging/modpaths/$m"
  done
  [ -f "$loopback_ko" ] && cp "$loopback_ko" "$staging/lib/modules/v4l2loopback.ko"
  cp "$init_src" "$staging/init"; chmod +x "$staging/init"
  (cd "$staging" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd"
  rm -rf "$staging"
else
  rm -f "$init_src.new"
fi

out=$(mktemp -d /tmp/syncap-vm-XXXXXX)
# The share holds the console, the command's output and its exit code; gone however we end.
# A signal stops the VM too: bash would otherwise wait for it (timeout keeps qemu in a process
# group of its own, so Ctrl-C never reaches it).
vm=
trap 'rm -rf "$out"' EXIT
trap '[ -z "$vm" ] || kill "$vm" 2>/dev/null; exit 130' INT
trap '[ -z "$vm" ] || kill "$vm" 2>/dev/null; exit 143' TERM
chmod 777 "$out"
echo "$repo" > "$out/overlay"
{
  echo "cd $(printf '%q' "$PWD")"
  echo "export PATH=$(printf '%q' "$PATH") HOME=/run/home TMPDIR=/run/tmp npm_config_cache=/run/npm-cache"
  echo "export CI=${CI:-} SYNCAP_IN_VIVID_VM=1 SYNCAP_VIVID_DEVICES=$devices FORCE_COLOR=0"
  echo "mkdir -p /run/home /run/tmp /run/npm-cache"
  printf 'exec'; printf ' %q' "$@"; echo
} > "$out/run.sh"

log "booting $kpkg under qemu (TCG) with $devices vivid devices (+2 spare)$([ -f "$loopback_ko" ] && echo " and ${#loopback_nrs[@]} v4l2loopback devices")"
set +e
timeout "${SYNCAP_VM_TIMEOUT_S:-1500}" qemu-system-x86_64 -accel tcg -m "${SYNCAP_VM_MEM_MB:-2048}" -smp "${SYNCAP_VM_CPUS:-2}" \
  -kernel "$kroot/boot/vmlinuz-$kver" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 syncap.out=$out" \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" > "$out/console" 2>&1 &
vm=$!
wait "$vm"
qemu_rc=$?
vm=
set -e
cat "$out/stdout" 2>/dev/null || true
cat "$out/stderr" >&2 2>/dev/null || true
if [ ! -f "$out/exit" ]; then
  log "the VM did not report an exit code (qemu exit $qemu_rc); its console:"
  tail -n 40 "$out/console" >&2
  exit 1
fi
exit "$(cat "$out/exit")"
