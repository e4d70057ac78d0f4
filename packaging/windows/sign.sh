#!/bin/sh
# Signs Windows executables in place (Authenticode) with osslsigncode and the
# lab's own code-signing certificate; the repository holds none. `make package`
# calls it for ImageBeam.exe, imagebeam-cli.exe, the uninstaller and the
# installer when SIGN_PKCS12 is set:
#   make package SIGN_PKCS12=/secure/lab-codesign.pfx SIGN_PASSFILE=/secure/pass.txt \
#        SIGN_TIMESTAMP=http://timestamp.your-ca.example
# SIGN_PASSFILE: a file holding the .pfx password (never the password itself on
# the command line). SIGN_TIMESTAMP: the CA's RFC 3161 time-stamp URL, so the
# signature outlives the certificate (needs the network; omit it offline).
set -eu
: "${SIGN_PKCS12:?set SIGN_PKCS12 to the lab's .pfx/.p12 code-signing certificate}"
for f in "$@"; do
	# shellcheck disable=SC2086
	osslsigncode sign -pkcs12 "$SIGN_PKCS12" ${SIGN_PASSFILE:+-readpass "$SIGN_PASSFILE"} \
		-h sha256 -n ImageBeam ${SIGN_TIMESTAMP:+-ts "$SIGN_TIMESTAMP"} \
		-in "$f" -out "$f.signed" >/dev/null
	mv "$f.signed" "$f"
	echo "signed $f"
done
