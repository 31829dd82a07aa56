#!/bin/sh
# make-disk.sh IMAGE BYTE: a 16 MiB qcow2 v3 image whose first 64 KiB hold BYTE (e.g. 0x11).
set -eu
qemu-img create -q -f qcow2 -o compat=1.1 "$1" 16M
qemu-io -f qcow2 -c "write -P $2 0 64k" "$1" >/dev/null
