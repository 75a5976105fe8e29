// Package headscale is a module of its own that pins the headscale control
// server (go.mod's tool line, v0.26.1) which the tailnet tests and the
// bench run on loopback (internal/testutil/headscale). It is apart from the
// hub's module because headscale pins its own pre-release of tailscale.com,
// which the hub (tailscale.com v1.102.5, for tsnet) must not inherit.
//
// make test builds it: go build -o bin/headscale github.com/juanfont/headscale/cmd/headscale
package headscale
