#!/bin/sh
# make-tls-certs.sh SERVER_DIR CLIENT_DIR HOST: a private CA, a certificate for QEMU's NBD
# server on HOST (in SERVER_DIR, readable by QEMU's user) and one for the backup client.
set -eu
server=$1 client=$2 host=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$server" "$client"

printf 'cn = Backup CA\nca\ncert_signing_key\nexpiration_days = 365\n' > "$work/ca.info"
certtool --generate-privkey --outfile "$work/ca-key.pem" 2>/dev/null
certtool --generate-self-signed --load-privkey "$work/ca-key.pem" \
    --template "$work/ca.info" --outfile "$server/ca-cert.pem" 2>/dev/null
cp "$server/ca-cert.pem" "$client/ca-cert.pem"

# $1: the directory, $2: the file name prefix, $3: the certificate's purpose
issue() {
    printf 'cn = %s\ndns_name = %s\n%s\nencryption_key\nsigning_key\nexpiration_days = 365\n' \
        "$host" "$host" "$3" > "$work/$2.info"
    certtool --generate-privkey --outfile "$1/$2-key.pem" 2>/dev/null
    certtool --generate-certificate --load-ca-certificate "$server/ca-cert.pem" \
        --load-ca-privkey "$work/ca-key.pem" --load-privkey "$1/$2-key.pem" \
        --template "$work/$2.info" --outfile "$1/$2-cert.pem" 2>/dev/null
}
issue "$server" server tls_www_server
issue "$client" client tls_www_client

# QEMU runs as libvirt-qemu and reads the server's key itself.
chgrp -R libvirt-qemu "$server"
chmod 0750 "$server"
chmod 0640 "$server/server-key.pem"
