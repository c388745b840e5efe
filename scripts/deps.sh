#!/usr/bin/env bash
# deps.sh: installs what Switchboard's tests need. It is idempotent: each step
# runs only when its result is missing or out of date.
#
#   - Debian's chromium, for the headless browser tests (internal/testutil/browser)
#   - unshare and ip, for the WebRTC browser test's network namespace
#   - the npm packages of test/node, for the Node.js clients (internal/testutil/nodetest)
#   - the Go modules of go.mod
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }

# as_root runs a command as root: directly when we are root, else with sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root or sudo to run: $*"
	fi
}

# apt_install installs Debian packages without their recommended ones:
# headless Chromium needs none of the desktop, printing or perl packages
# that chromium recommends (about 100 more packages).
apt_install() {
	log "installing Debian packages: $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
		die "apt-get install $* failed"
}

# Chromium, for the browser tests, which run it headless. Its dependencies
# bring one font (fonts-dejavu-core, through fontconfig), enough for the
# screenshots to show text.
if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
	log "chromium: already installed"
else
	apt_install chromium
	command -v chromium >/dev/null 2>&1 || die "chromium is still missing after apt-get install chromium"
	log "chromium: installed $(chromium --version 2>/dev/null)"
fi

# unshare and ip, for the WebRTC browser test (peerconnection), which runs
# Chromium in a network namespace with only the loopback interface.
if ! command -v unshare >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
	apt_install util-linux iproute2
fi

# Node.js and npm, which every machine of this project has; Debian's are a
# fallback that works with test/node too.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt_install nodejs npm
fi
command -v node >/dev/null 2>&1 || die "node is missing after apt-get install nodejs"

# The npm packages of test/node, exactly as package-lock.json pins them. No
# install scripts run: the only native packages (bufferutil, utf-8-validate,
# optional deps of protoo-client's `websocket`) ship prebuilt binaries.
node_dir=test/node
if [ ! -d "$node_dir/node_modules" ] ||
	[ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
	log "npm ci in $node_dir (node $(node --version))"
	(cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund) || die "npm ci in $node_dir failed"
else
	log "$node_dir/node_modules: up to date"
fi

# The Go modules.
command -v go >/dev/null 2>&1 || die "go is missing: install Go (see go.mod for the version)"
go mod download || die "go mod download failed"
log "go modules: downloaded"
