package hub

import (
	"errors"
	"net/http"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/ledger"
)

// viewingKey is GET /viewing-keys/{account}: the account's registered
// public viewing key with the transaction that registered it (SPEC §17.1),
// so the client checks the account's signature instead of the hub's word.
func (h *Hub) viewingKey(r *http.Request) (any, error) {
	a, err := addrParam(r, "account")
	if err != nil {
		return nil, err
	}
	rec, err := h.node.App.ViewingKey(a)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, api.Errorf(api.ErrNotFound, "%s has registered no viewing key", a.Hex())
	}
	pub, err := e2ee.ParsePublicKey(rec.PublicKey)
	if err != nil {
		return nil, err
	}
	res, err := h.node.Tx(r.Context(), rec.TxHash, false)
	if errors.Is(err, ledger.ErrTxNotFound) {
		return nil, api.Errorf(api.ErrNotFound, "the transaction that registered %s's viewing key is not in this node's index", a.Hex())
	}
	if err != nil {
		return nil, err
	}
	return api.ViewingKey{Account: a.Hex(), KEM: rec.KEM, KeyID: pub.String(), PublicKey: hexHash(rec.PublicKey),
		Height: rec.Height, Time: rfc3339(rec.Time), TxHash: hexHash(rec.TxHash[:]), Tx: hexHash(res.Tx)}, nil
}
