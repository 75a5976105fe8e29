package cli

import (
	"fmt"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
)

// reportHoldings tells the user who just restored a wallet what its address
// holds on the hub's ledger: the cameras it owns, those it may watch, and
// whether it ever acted on the ledger. A mistyped passphrase gives a valid,
// different wallet that holds nothing, and nothing else tells the two apart,
// so an empty answer is said plainly. It logs in to the hub with k (which
// enrolls this machine as a client, as any first login does). A hub it
// cannot ask is reported, not an error: the key is saved either way.
func (e *env) reportHoldings(hf *hubFlags, k *keys.PrivateKey) {
	addr := k.Address().Hex()
	hf.wallet = &sessionCreds{e: e, signer: func() (*keys.PrivateKey, error) { return k, nil },
		address: func() (keys.Address, error) { return k.Address(), nil }}
	c, ctx, cancel, err := hf.client()
	if err != nil {
		fmt.Fprintf(e.stderr, "Could not ask the hub at %s what %s owns (%v).\nCheck the address yourself before you rely on this wallet.\n", hf.url, addr, err)
		return
	}
	defer cancel()
	// Reachable at all? (Before the login, which writes a session.)
	if _, err := c.Status(ctx); err != nil {
		fmt.Fprintf(e.stderr, "Could not ask the hub at %s what %s owns (%v).\nCheck the address yourself before you rely on this wallet.\n", c.Base(), addr, err)
		return
	}
	owned, err := c.DevicesOf(ctx, addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "Could not ask the hub at %s what %s owns (%v).\nCheck the address yourself before you rely on this wallet.\n", c.Base(), addr, err)
		return
	}
	watched, err := c.ViewerDevices(ctx, addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "Could not ask the hub at %s what %s may watch (%v).\n", c.Base(), addr, err)
		return
	}
	acted := 0
	if evs, err := c.Audit(ctx, api.AuditQuery{Principal: addr, Limit: 50}); err == nil {
		for _, ev := range evs.Items {
			if ev.Source == "ledger" {
				acted++
			}
		}
	}
	if len(owned) == 0 && len(watched) == 0 && acted == 0 {
		fmt.Fprintf(e.stderr, "WARNING: on the hub at %s, %s owns no camera, may watch none, and has never acted on the ledger.\n"+
			"If you expected cameras there, the 24 words or the passphrase are not the original ones: a mistyped\n"+
			"passphrase gives a different, empty wallet, and nothing else tells them apart. Remove the keystore\n"+
			"directory and restore again with the passphrase you first chose.\n", c.Base(), addr)
		return
	}
	fmt.Fprintf(e.stderr, "On the hub at %s, %s owns %d camera(s) and may watch %d: this is a wallet in use.\n", c.Base(), addr, len(owned), len(watched))
}
