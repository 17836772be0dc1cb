#!/bin/sh
# Builds kube-apiserver from the Go module k8s.io/kubernetes at $1 (default
# v1.34.2) and prints the path of the binary. The binary is cached by version
# under $BURNRATE_LAB_CACHE (default ~/.cache/burnrate-lab), so a second run
# does not rebuild. Needs only Go and the module proxy.
set -eu
VERSION=${1:-v1.34.2}
CACHE=${BURNRATE_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/burnrate-lab}
BIN="$CACHE/bin/kube-apiserver-$VERSION"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
GO=${GO:-go}
# k8s.io/kubernetes vX.Y.Z publishes its staging repositories as v0.Y.Z.
STAGING=v0.${VERSION#v1.}
SRC="$CACHE/src/kubernetes-$VERSION"
mkdir -p "$CACHE/bin" "$CACHE/src"
start=$(date +%s)
dir=$(GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "go mod download gave no Dir for k8s.io/kubernetes@$VERSION" >&2; exit 1; }
rm -rf "$SRC"
cp -r "$dir" "$SRC"
chmod -R u+w "$SRC"
cd "$SRC"
rm -rf vendor go.work go.work.sum
# Each staging replace (k8s.io/X => ./staging/src/k8s.io/X) becomes a
# requirement on the published module.
# (The module zip leaves the staging directories out: they are modules of
# their own.)
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => \./staging/src/\1[[:space:]]*$#\1#p' go.mod); do
	"$GO" mod edit -dropreplace="$m" -require="$m@$STAGING"
done
echo "building kube-apiserver $VERSION in $SRC" >&2
"$GO" build -mod=mod -o "$BIN.tmp" \
	-ldflags "-X k8s.io/component-base/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$VERSION" | cut -d. -f2)" \
	./cmd/kube-apiserver
mv "$BIN.tmp" "$BIN"
echo "built $BIN in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
