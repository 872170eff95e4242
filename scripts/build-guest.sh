#!/usr/bin/env bash
# Build the bundled wkvm Linux guest, reproducibly, from Debian packages only:
#
#   public/images/bzImage            i386 kernel (linux-source-6.1, tinyconfig
#                                    + scripts/guest/kernel.fragment)
#   public/images/initramfs.cpio.gz  busybox-static:i386 + scripts/guest/rootfs
#   public/images/SHA256SUMS
#
# Usage: scripts/build-guest.sh [options]
#   --update-config   write the regenerated full .config to
#                     scripts/guest/kernel.config instead of failing when it
#                     differs (do this after editing kernel.fragment)
#   --update-lock     accept the package versions apt offers now and record
#                     them in scripts/guest/versions.lock
#   --no-install      never call apt-get / dpkg; fail if something is missing
#   --no-copy         build into build/guest/out only; leave public/images alone
#   -j N              parallel make jobs (default: nproc)
#
# Work dir: build/guest/ (gitignored); WKVM_GUEST_WORK overrides it. The
# script is re-runnable: the kernel tree is re-extracted only when the
# linux-source version or the patches change, and make is incremental.
#
# Reproducibility: fixed KBUILD_BUILD_{TIMESTAMP,USER,HOST,VERSION},
# SOURCE_DATE_EPOCH, LC_ALL=C, TZ=UTC; the cpio archive is written by the
# kernel's own usr/gen_init_cpio from a sorted list with owner 0:0 and every
# mtime = SOURCE_DATE_EPOCH; gzip -n. The same package versions
# (scripts/guest/versions.lock) and the same compiler give the same bytes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST=$ROOT/scripts/guest
W=${WKVM_GUEST_WORK:-$ROOT/build/guest}
OUT=$ROOT/public/images
LOCK=$GUEST/versions.lock

UPDATE_CONFIG=0 UPDATE_LOCK=0 INSTALL=1 COPY=1
JOBS=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --update-config) UPDATE_CONFIG=1 ;;
    --update-lock) UPDATE_LOCK=1 ;;
    --no-install) INSTALL=0 ;;
    --no-copy) COPY=0 ;;
    -j) JOBS=$2; shift ;;
    -j*) JOBS=${1#-j} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-guest: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# 2024-01-01 00:00:00 UTC: the date every output claims.
export SOURCE_DATE_EPOCH=1704067200
export KBUILD_BUILD_TIMESTAMP="Mon Jan  1 00:00:00 UTC 2024"
export KBUILD_BUILD_USER=wkvm KBUILD_BUILD_HOST=wkvm KBUILD_BUILD_VERSION=1
export LC_ALL=C TZ=UTC
export ARCH=i386
umask 022

log() { printf '\033[1mbuild-guest:\033[0m %s\n' "$*" >&2; }
die() { printf 'build-guest: error: %s\n' "$*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# ---------------------------------------------------------------- packages
HOST_PKGS=(build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
           patch gzip dpkg-dev)
KSRC_PKG=linux-source-6.1
BB_PKG=busybox-static:i386

locked() { [ ! -f "$LOCK" ] || awk -v p="$1" '$1 == p { print $2 }' "$LOCK"; }
installed_version() {
  dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null |
    awk '$1 == "installed" { print $2 }'
}

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  log "apt-get update"
  # A mirror in the middle of a sync makes apt-get update fail for one
  # index while the others are fine: carry on, the install says if not.
  $SUDO apt-get update -q || log "apt-get update reported errors; going on"
  APT_UPDATED=1
}
apt_install() {
  [ "$INSTALL" = 1 ] || die "missing packages: $* (run without --no-install)"
  apt_update
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
    --no-install-recommends --allow-downgrades "$@"
}

missing=()
for p in "${HOST_PKGS[@]}"; do
  [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# linux-source-6.1: the locked version if apt still has it.
want_k=$(locked "$KSRC_PKG")
have_k=$(installed_version "$KSRC_PKG")
if [ -z "$have_k" ] || { [ "$UPDATE_LOCK" = 0 ] && [ -n "$want_k" ] && [ "$have_k" != "$want_k" ]; }; then
  if [ -n "$want_k" ] && [ "$UPDATE_LOCK" = 0 ]; then
    apt_install "$KSRC_PKG=$want_k" ||
      { log "WARNING: $KSRC_PKG=$want_k is not available; using apt's candidate"; apt_install "$KSRC_PKG"; }
  else
    apt_install "$KSRC_PKG"
  fi
  have_k=$(installed_version "$KSRC_PKG")
fi
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
[ -f "$KSRC_TAR" ] || die "$KSRC_TAR is missing (reinstall $KSRC_PKG)"

# busybox-static:i386 is only downloaded, never installed.
mkdir -p "$W/debs"
want_b=$(locked "$BB_PKG")
bb_deb() { ls "$W"/debs/busybox-static_*_i386.deb 2>/dev/null | head -n 1; }
bb_deb_version() { dpkg-deb -f "$1" Version; }
deb=$(bb_deb || true)
if [ -n "$deb" ] && [ -n "$want_b" ] && [ "$UPDATE_LOCK" = 0 ] && [ "$(bb_deb_version "$deb")" != "$want_b" ]; then
  rm -f "$deb"; deb=
fi
if [ -z "$deb" ] || [ "$UPDATE_LOCK" = 1 ]; then
  [ "$INSTALL" = 1 ] || die "no $BB_PKG .deb in $W/debs (run without --no-install)"
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    log "dpkg --add-architecture i386"
    $SUDO dpkg --add-architecture i386
    APT_UPDATED=0
  fi
  apt_update
  rm -f "$W"/debs/busybox-static_*_i386.deb
  # apt-get download writes to the current directory; _apt cannot write
  # there when it belongs to root, which only costs a warning.
  if [ -n "$want_b" ] && [ "$UPDATE_LOCK" = 0 ]; then
    (cd "$W/debs" && apt-get download -q "$BB_PKG=$want_b") ||
      { log "WARNING: $BB_PKG=$want_b is not available; using apt's candidate";
        (cd "$W/debs" && apt-get download -q "$BB_PKG"); }
  else
    (cd "$W/debs" && apt-get download -q "$BB_PKG")
  fi
  deb=$(bb_deb) || true
  [ -n "$deb" ] || die "apt-get download $BB_PKG gave no .deb"
fi
have_b=$(bb_deb_version "$deb")

if [ "$UPDATE_LOCK" = 1 ] || [ ! -f "$LOCK" ]; then
  printf '# Debian package versions the committed guest images were built from.\n# scripts/build-guest.sh installs/downloads exactly these when apt has them.\n%s %s\n%s %s\n' \
    "$KSRC_PKG" "$have_k" "$BB_PKG" "$have_b" > "$LOCK"
  log "wrote $LOCK"
fi
for pair in "$KSRC_PKG $have_k" "$BB_PKG $have_b"; do
  set -- $pair
  if [ "$(locked "$1")" != "$2" ]; then
    log "WARNING: using $1 $2 but versions.lock says $(locked "$1"); the images will differ from the committed ones"
  fi
done
log "$KSRC_PKG $have_k, $BB_PKG $have_b, $(gcc --version | head -n 1)"

# ---------------------------------------------------------- kernel source
SRC=$W/linux-source-6.1
stamp="$KSRC_PKG $have_k; patches: $(cat "$GUEST"/patches/*.patch 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$SRC/.wkvm-source" ] || [ "$(cat "$SRC/.wkvm-source")" != "$stamp" ]; then
  log "extracting $KSRC_TAR"
  rm -rf "$SRC" "$W/kbuild" "$W/kconfig"
  mkdir -p "$W"
  tar -C "$W" -xf "$KSRC_TAR"
  [ -f "$SRC/Makefile" ] || die "$KSRC_TAR did not give $SRC"
  for p in "$GUEST"/patches/*.patch; do
    [ -e "$p" ] || continue
    log "patch ${p#$ROOT/}"
    patch -d "$SRC" -p1 --forward --quiet < "$p"
  done
  echo "$stamp" > "$SRC/.wkvm-source"
fi
KVER=$(make -s -C "$SRC" kernelversion)

# ----------------------------------------------------------- kernel config
# The full .config is regenerated from tinyconfig + the fragment in a
# scratch build dir every time and must equal the committed kernel.config.
FRAG=$GUEST/kernel.fragment
FULL=$GUEST/kernel.config
KCONF=$W/kconfig
rm -rf "$KCONF"; mkdir -p "$KCONF"
log "config: tinyconfig + ${FRAG#$ROOT/}"
make -s -C "$SRC" O="$KCONF" tinyconfig >/dev/null
(cd "$SRC" && scripts/kconfig/merge_config.sh -O "$KCONF" "$KCONF/.config" "$FRAG") \
  > "$KCONF/merge.log" 2>&1 || { cat "$KCONF/merge.log" >&2; die "merge_config.sh failed"; }
make -s -C "$SRC" O="$KCONF" olddefconfig >/dev/null
# Every line of the fragment must have survived into the result.
bad=0
while IFS= read -r line; do
  case "$line" in
    "# CONFIG_"*" is not set")
      sym=${line#\# }; sym=${sym%% *}
      if grep -q "^$sym=" "$KCONF/.config"; then
        echo "  wanted '$line', got '$(grep "^$sym=" "$KCONF/.config")'" >&2; bad=1; fi ;;
    CONFIG_*)
      if ! grep -qxF -- "$line" "$KCONF/.config"; then
        sym=${line%%=*}
        echo "  wanted '$line', got '$(grep -E "^$sym=|^# $sym is not set" "$KCONF/.config" || echo absent)'" >&2; bad=1; fi ;;
  esac
done < "$FRAG"
[ "$bad" = 0 ] || die "kernel.fragment asks for values Kconfig did not keep (see above)"
if ! cmp -s "$KCONF/.config" "$FULL"; then
  if [ "$UPDATE_CONFIG" = 1 ] || [ ! -f "$FULL" ]; then
    cp "$KCONF/.config" "$FULL"; log "wrote ${FULL#$ROOT/}"
  else
    diff -u "$FULL" "$KCONF/.config" >&2 || true
    die "tinyconfig + kernel.fragment no longer gives scripts/guest/kernel.config (see the diff; --update-config accepts it)"
  fi
fi

# ------------------------------------------------------------------ kernel
KB=$W/kbuild
mkdir -p "$KB"
cmp -s "$FULL" "$KB/.config" || cp "$FULL" "$KB/.config"
log "make bzImage (linux $KVER, -j$JOBS; several minutes)"
make -C "$SRC" O="$KB" -j"$JOBS" olddefconfig >/dev/null
cmp -s "$FULL" "$KB/.config" || die "olddefconfig changed kbuild/.config"
make -C "$SRC" O="$KB" -j"$JOBS" bzImage > "$W/kernel-build.log" 2>&1 ||
  { tail -n 40 "$W/kernel-build.log" >&2; die "kernel build failed (full log: $W/kernel-build.log)"; }
KREL=$(cat "$KB/include/config/kernel.release")

# --------------------------------------------------------------- initramfs
log "initramfs"
BBX=$W/busybox-deb
rm -rf "$BBX"; dpkg-deb -x "$deb" "$BBX"
[ -x "$BBX/bin/busybox" ] || die "no bin/busybox in $deb"
STAGE=$W/initramfs-files
rm -rf "$STAGE"; mkdir -p "$STAGE"
LIST=$W/initramfs.list
GEN=$W/gen_init_cpio
gcc -O2 -o "$GEN" "$SRC/usr/gen_init_cpio.c"

{
  # directories
  for d in bin dev etc mnt proc root run sbin sys tmp usr usr/bin usr/sbin var var/log; do
    case "$d" in root) m=0700 ;; tmp) m=1777 ;; *) m=0755 ;; esac
    echo "dir /$d $m 0 0"
  done
  # the nodes the kernel and /init need before devtmpfs is mounted
  echo "nod /dev/console 0600 0 0 c 5 1"
  echo "nod /dev/null 0666 0 0 c 1 3"
  # busybox and a symlink per applet (the i386 binary runs on an x86-64
  # host kernel with IA-32 emulation, which Debian's amd64 kernels have)
  cp "$BBX/bin/busybox" "$STAGE/busybox"
  echo "file /bin/busybox $STAGE/busybox 0755 0 0"
  applets=$("$BBX/bin/busybox" --list-full) ||
    die "cannot run the i386 busybox here to list its applets (needs IA-32 emulation)"
  for a in $applets; do
    case "$a" in
      bin/busybox|linuxrc) continue ;;
    esac
    echo "slink /$a /bin/busybox 0777 0 0"
  done
  # our files (scripts/guest/rootfs): modes are set here, not taken from
  # the checkout
  (cd "$GUEST/rootfs" && find . -mindepth 1 -type d | sed 's#^\./##') | while read -r d; do
    echo "dir /$d 0755 0 0"
  done
  (cd "$GUEST/rootfs" && find . -type f | sed 's#^\./##') | while read -r f; do
    mkdir -p "$STAGE/rootfs/$(dirname "$f")"
    cp "$GUEST/rootfs/$f" "$STAGE/rootfs/$f"
    case "$f" in init|sbin/*|bin/*|etc/init.d/*) m=0755 ;; *) m=0644 ;; esac
    echo "file /$f $STAGE/rootfs/$f $m 0 0"
  done
} | LC_ALL=C sort -k2,2 -u > "$LIST"
# gen_init_cpio takes a regular file's mtime from the file itself.
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$W/out"
"$GEN" -t "$SOURCE_DATE_EPOCH" "$LIST" > "$W/out/initramfs.cpio"
cpio -it --quiet < "$W/out/initramfs.cpio" > "$W/initramfs.contents" ||
  die "cpio cannot read the archive gen_init_cpio wrote"
gzip -n -9 -c "$W/out/initramfs.cpio" > "$W/out/initramfs.cpio.gz"
cp "$KB/arch/x86/boot/bzImage" "$W/out/bzImage"
(cd "$W/out" && sha256sum bzImage initramfs.cpio.gz > SHA256SUMS)

cat > "$W/out/build-info.txt" <<EOF
kernel:    Linux $KREL ($KSRC_PKG $have_k, ${FRAG#$ROOT/})
busybox:   $("$BBX/bin/busybox" | head -n 1) ($BB_PKG $have_b)
compiler:  $(gcc --version | head -n 1)
epoch:     $SOURCE_DATE_EPOCH ($KBUILD_BUILD_TIMESTAMP)
bzImage:           $(stat -c %s "$W/out/bzImage") bytes
initramfs.cpio.gz: $(stat -c %s "$W/out/initramfs.cpio.gz") bytes ($(stat -c %s "$W/out/initramfs.cpio") uncompressed, $(wc -l < "$LIST") entries)
$(cat "$W/out/SHA256SUMS")
EOF

if [ "$COPY" = 1 ]; then
  mkdir -p "$OUT"
  cp "$W/out/bzImage" "$W/out/initramfs.cpio.gz" "$W/out/SHA256SUMS" "$OUT/"
  log "copied to ${OUT#$ROOT/}/"
fi
cat "$W/out/build-info.txt"
