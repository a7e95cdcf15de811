#!/bin/sh
# Builds litepool-dqlite-node from Debian's packages (as root on Debian/Ubuntu:
# installs golang-go, libdqlite-dev and go-dqlite's sources, then builds offline):
#   sh packages/dqlite/node/build.sh        -> packages/dqlite/node/litepool-dqlite-node
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/github.com/canonical/go-dqlite ] || [ ! -f /usr/include/dqlite.h ]; then
  apt-get install -y golang-go libdqlite-dev golang-github-canonical-go-dqlite-dev
fi
cd "$here"
# Debian ships Go libraries as sources under /usr/share/gocode: a GOPATH build, no module download.
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-/tmp/litepool-go-cache}" CGO_LDFLAGS_ALLOW='-Wl,-z,now' \
  go build -tags libsqlite3 -o litepool-dqlite-node main.go tls.go admin.go
echo "built $here/litepool-dqlite-node"
