// Package tailnet is the hub on its owner's tailnet: remote access without
// port forwarding (docs/SPEC.md §11.12). The hub joins the tailnet as a
// node of its own (embedded Tailscale, tsnet, in internal/tailnet/tsnode)
// and serves its UI and API there over HTTPS: with the certificate the
// tailnet issues for the node's MagicDNS name where the tailnet issues one
// (Tailscale's HTTPS certificates), else with the hub's own certificate,
// which clients pin (a headscale tailnet issues none). The camera link is
// never served on the tailnet: cameras stay on the LAN.
//
// This package holds what the hub needs to know of a tailnet node — its
// configuration, the auth key as a secret type, and the Node interface —
// without linking Tailscale, so that the hub's tests and the agent do not
// carry it; cmd/camchaind passes tsnode.Join in.
package tailnet
