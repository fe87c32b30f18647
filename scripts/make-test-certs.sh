#!/usr/bin/env bash
# Throw-away certificates for the TLS tests, made with openssl in DIR (created if missing):
#
#   ca.pem ca.key             the CA both the servers and the clients trust
#   server.pem server.key     server certificate, CN localhost, SAN DNS:localhost and IP:127.0.0.1
#   client.pem client.key     client certificate (mutual TLS), CN celeriac-test-client
#   wrong-ca.pem              another CA, which signed none of the above
#
# Keys are EC P-256 (quick to make), valid for 30 days, readable by the calling user only.
# Usage: make-test-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

ca() { # ca NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/O=celeriac tests/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

leaf() { # leaf NAME CN EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/O=celeriac tests/CN=$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 30 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "celeriac test CA"
ca wrong-ca "celeriac wrong CA"
rm -f wrong-ca.key
leaf server localhost "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1')"
leaf client celeriac-test-client "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth')"
rm -f ca.srl
# The servers (RabbitMQ, redis-server) run as this user and read their key files themselves.
chmod 600 ./*.key
chmod 644 ./*.pem
