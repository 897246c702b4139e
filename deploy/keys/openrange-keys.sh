#!/bin/sh
# OpenRange update signing keys (the ceremony is in deploy/keys/README.md).
#
#   openrange-keys.sh ca      DIR "NAME"   a new ECDSA P-256 CA (development or release) in DIR
#   openrange-keys.sh issue   DIR NAME     a code-signing key + certificate from that CA
#   openrange-keys.sh revoke  DIR CERT     withdraw a signing certificate (then ship the new keyring)
#   openrange-keys.sh keyring DIR          DIR/keyring.pem = CA certificate + CRL, for /etc/rauc/keyring.pem
#
# The CRL's lastUpdate is the CA's own start date: RAUC checks certificates at the bundle's signing
# time (the box has no clock), and a CRL dated after a bundle was signed would reject that bundle.
set -eu

cmd="${1:?usage: openrange-keys.sh ca|issue|revoke|keyring DIR ...}"
dir="${2:?DIR is required}"
conf="$dir/ca.cnf"

write_conf() {
    cat > "$conf" <<CONF
[ca]
default_ca = openrange_ca
[openrange_ca]
dir = $dir
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.cert.pem
private_key = $dir/ca.key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = any
unique_subject = no
[any]
commonName = supplied
[signer]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CONF
}

keyring() {
    start="$(openssl x509 -noout -startdate -in "$dir/ca.cert.pem" | sed 's/^notBefore=//')"
    since="$(date -u -d "$start" +%Y%m%d%H%M%SZ)"
    openssl ca -batch -config "$conf" -gencrl -crl_lastupdate "$since" -out "$dir/crl.pem" 2>/dev/null
    cat "$dir/ca.cert.pem" "$dir/crl.pem" > "$dir/keyring.pem"
}

case "$cmd" in
    ca)
        name="${3:?NAME is required, e.g. \"OpenRange development\"}"
        mkdir -p "$dir/issued"
        chmod 0700 "$dir"
        : > "$dir/index.txt"
        echo 1000 > "$dir/serial"
        echo 1000 > "$dir/crlnumber"
        write_conf
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7300 \
            -keyout "$dir/ca.key.pem" -out "$dir/ca.cert.pem" -subj "/O=OpenRange/CN=$name CA" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        keyring ;;
    issue)
        name="${3:?NAME is required, e.g. dev-alice or release-2027}"
        umask 077
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/$name.key.pem" -out "$dir/$name.csr" -subj "/O=OpenRange/CN=OpenRange $name signing" 2>/dev/null
        openssl ca -batch -config "$conf" -extensions signer -notext \
            -in "$dir/$name.csr" -out "$dir/$name.cert.pem" 2>/dev/null
        echo "$dir/$name.cert.pem $dir/$name.key.pem" ;;
    revoke)
        cert="${3:?CERT is required}"
        openssl ca -batch -config "$conf" -revoke "$cert" 2>/dev/null
        keyring ;;
    keyring) keyring ;;
    *) echo "openrange-keys.sh: unknown command $cmd" >&2; exit 2 ;;
esac
