#!/bin/sh
# docker/rootfs.sh: the whole root file system of the sagemock image, in a folder.
#
#   docker/rootfs.sh BINARY FIXTURES_DIR DEST
#
# Run by the build stage of docker/Dockerfile (as root, on Debian), whose last stage is
# `FROM scratch` + `COPY --from=build DEST/ /`. DEST ends up holding exactly:
#
#   /usr/local/bin/sagemock          BINARY, stripped
#   the shared libraries it links    every path `ldd BINARY` resolves, the dynamic loader
#                                    included, copied as plain files to the paths the loader
#                                    looks at (no symbolic links, no ld.so.cache)
#   /etc/passwd, /etc/group          root and sagemock (uid/gid 10001, home /data, no shell)
#   /etc/nsswitch.conf               files, then DNS (SAGEMOCK_HOST may be a name)
#   /data                            owned by 10001: the place for SAGEMOCK_DB on a volume
#   /fixtures                        empty: SAGEMOCK_FIXTURES points at it, mount files there
#   /tmp                             1777: SQLite's temporary files
#   /usr/share/sagemock/fixtures     FIXTURES_DIR (the repository's fixtures/, for reference)
#
# No shell, no package manager, no other program. A static binary is not possible with
# Debian's packages (no libcjson.a; libmicrohttpd needs GnuTLS, whose static chain Debian does
# not ship either), so the image carries the shared libraries instead, found by ldd.
# As root, it then runs `chroot DEST /usr/local/bin/sagemock --version`: proof that nothing
# the binary loads at start is missing.
set -eu

if [ $# -ne 3 ]; then
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
BIN=$1
FIXTURES=$2
DEST=$3
[ -x "$BIN" ] || { echo "rootfs.sh: $BIN is not an executable" >&2; exit 1; }
[ -d "$FIXTURES" ] || { echo "rootfs.sh: $FIXTURES is not a folder" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/usr/local/bin" "$DEST/etc" "$DEST/data" "$DEST/fixtures" "$DEST/tmp" \
    "$DEST/usr/share/sagemock"

# The binary, without symbols (strip when binutils is there; the build stage has it).
if command -v strip >/dev/null; then
    strip --strip-all -o "$DEST/usr/local/bin/sagemock" "$BIN"
else
    cp "$BIN" "$DEST/usr/local/bin/sagemock"
fi
chmod 0755 "$DEST/usr/local/bin/sagemock"

# The shared libraries and the loader: "libx.so.1 => /path (0x...)" and "/lib64/ld-... (0x...)";
# linux-vdso has no file. A library ldd cannot find is an error, not something to leave out.
LIBS=$(ldd "$BIN") || { echo "rootfs.sh: ldd $BIN failed" >&2; exit 1; }
if printf '%s\n' "$LIBS" | grep -q 'not found'; then
    echo "rootfs.sh: ldd $BIN: $(printf '%s\n' "$LIBS" | grep 'not found')" >&2
    exit 1
fi
printf '%s\n' "$LIBS" | awk '$2 == "=>" && $3 ~ /^\// {print $3; next} $1 ~ /^\// {print $1}' |
    while read -r lib; do
        mkdir -p "$DEST$(dirname "$lib")"
        cp -L "$lib" "$DEST$lib"
        chmod 0755 "$DEST$lib"
    done

# Users, groups and name lookup: the few lines glibc reads.
cat >"$DEST/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/nonexistent
sagemock:x:10001:10001:sagemock:/data:/nonexistent
EOF
cat >"$DEST/etc/group" <<'EOF'
root:x:0:
sagemock:x:10001:
EOF
cat >"$DEST/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF
chmod 0644 "$DEST/etc/passwd" "$DEST/etc/group" "$DEST/etc/nsswitch.conf"

cp -R "$FIXTURES" "$DEST/usr/share/sagemock/fixtures"
chmod -R u=rwX,go=rX "$DEST/usr/share/sagemock"
chmod 0755 "$DEST/data" "$DEST/fixtures"
chmod 1777 "$DEST/tmp"

if [ "$(id -u)" = 0 ]; then
    chown -R 0:0 "$DEST"
    chown 10001:10001 "$DEST/data"
    # Everything the binary needs to start is inside DEST (chroot needs CAP_SYS_CHROOT, which
    # docker and podman builds have; without it, say so and go on).
    if out=$(chroot "$DEST" /usr/local/bin/sagemock --version 2>&1); then
        echo "rootfs.sh: chroot $DEST /usr/local/bin/sagemock --version: $out"
    elif printf '%s' "$out" | grep -q 'Operation not permitted'; then
        echo "rootfs.sh: cannot chroot here ($out); not checked"
    else
        echo "rootfs.sh: the binary does not start inside $DEST: $out" >&2
        exit 1
    fi
else
    echo "rootfs.sh: not root: /data is owned by $(id -u), not 10001 (the Dockerfile runs this as root)"
fi
echo "rootfs.sh: $(du -sk "$DEST" | cut -f1) KiB in $DEST:"
(cd "$DEST" && find . -mindepth 1 ! -path './usr/share/sagemock/fixtures/*' | sort | sed 's/^\./  /')
echo "  (and $(find "$DEST/usr/share/sagemock/fixtures" -type f | wc -l) files under /usr/share/sagemock/fixtures)"
