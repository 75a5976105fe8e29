package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/webui"
)

// Version is reported by GET /api/v1/status.
const Version = "0.1.0"

// Request limits.
const (
	maxBodyBytes  = 16 << 10
	defaultLimit  = 50
	maxLimit      = 500
	submitTimeout = 30 * time.Second
)

// routes lists every API route. docs/openapi.yaml must list the same set
// (TestOpenAPIMatchesRoutes). The web UI's files (internal/webui) are
// served beside them, at / and their own names, with no authorization:
// they are the same for everyone, and every call they make to the API is
// authorized like any other.
func (h *Hub) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	for _, r := range h.routeTable() {
		mux.HandleFunc(r.method+" "+api.Prefix+r.path, h.wrap(r))
	}
	ui, err := webui.New()
	if err != nil {
		return nil, err
	}
	for _, p := range ui.Paths() {
		if p == "/" {
			p = "/{$}"
		}
		mux.Handle("GET "+p, ui)
	}
	// The tlog-witness this hub runs for others (witness.go): plain text,
	// not the JSON API.
	mux.HandleFunc("POST "+witnessPrefix+"/add-checkpoint", h.serveWitness)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, api.Errorf(api.ErrNotFound, "no such endpoint %s %s", r.Method, r.URL.Path))
	})
	return h.browserGuard(mux), nil
}

type route struct {
	method, path string
	policy       policy
	fn           func(r *http.Request) (any, error)
}

func (h *Hub) routeTable() []route {
	return []route{
		{"GET", "/status", public, h.status},
		{"GET", "/validators", public, h.validators},
		{"GET", "/auth/nonce", public, h.authNonce},
		{"POST", "/auth/login", public, h.authLogin},
		{"POST", "/auth/renew", public, h.authRenew},
		{"GET", "/auth/session", session, h.authSession},
		{"GET", "/auth/clients", session, h.authClients},
		{"POST", "/auth/clients/{client}/revoke", session, h.authRevokeClient},
		{"POST", "/auth/clients/{client}/approve", session, h.authApproveClient},
		{"GET", "/auth/logins/{record}", session, h.loginRecord},
		{"POST", "/auth/logout", public, h.authLogout},
		{"POST", "/auth/ticket", session, h.authTicket},
		{"POST", "/auth/device", public, h.deviceStart},
		{"GET", "/auth/device/{code}", public, h.deviceInfo},
		{"POST", "/auth/device/{code}/approve", public, h.deviceApprove},
		{"POST", "/auth/device/token", public, h.deviceToken},
		{"GET", "/devices/{camera}", deviceRecord, h.device},
		{"GET", "/devices/{camera}/grants", cameraOwner, h.grants},
		{"GET", "/devices/{camera}/checkpoints", cameraViewer, h.checkpoints},
		{"GET", "/owners/{owner}/devices", self, h.ownerDevices},
		{"GET", "/viewers/{viewer}/devices", self, h.viewerDevices},
		{"GET", "/devices/{camera}/status", cameraViewer, h.cameraStatus},
		{"GET", "/audit", auditScope, h.audit},
		{"GET", "/txs/{hash}", session, h.lookupTx},
		{"GET", "/nonces/{signer}/{nonce}", session, h.nonceUse},
		{"GET", "/viewing-keys/{account}", session, h.viewingKey},
		{"POST", "/txs", public, h.submit},
		{"GET", "/link", public, h.linkInfo},
		{"POST", "/pairings", public, h.pair},
		{"POST", "/pairings/relay", session, h.pairRelay},
		{"POST", "/devices/{camera}/resync", cameraOwner, h.resync},
		{"GET", "/devices/{camera}/recordings", cameraViewer, h.recordings},
		{"GET", "/devices/{camera}/records", cameraViewer, h.records},
		{"GET", "/devices/{camera}/timeline", cameraViewer, h.timeline},
		{"GET", "/devices/{camera}/evidence", cameraViewer, h.evidence},
		{"GET", "/devices/{camera}/envelopes", cameraViewer, h.envelopes},
		{"GET", "/devices/{camera}/history-keys", cameraViewer, h.historyEnvelopes},
		{"POST", "/devices/{camera}/history-keys", cameraOwner, h.uploadHistory},
		{"GET", "/devices/{camera}/witness", cameraOwner, h.witnessInfo},
		{"GET", "/devices/{camera}/play", socketViewer, h.play},
		{"GET", "/integrations", hubOwner, h.integrations},
	}
}

func (h *Hub) wrap(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, err := h.authorize(rt.policy, r)
		var out any
		if err == nil {
			out, err = rt.fn(r)
		}
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) {
				// Internal details go to the log, never to the client.
				h.cfg.Logger.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
				ae = api.Errorf(api.ErrInternal, "internal error; see the hub's log")
			}
			writeError(w, ae)
			return
		}
		if c, ok := out.(withCookie); ok {
			http.SetCookie(w, c.cookie)
			out = c.body
		}
		if s, ok := out.(socketBody); ok {
			s.serve(w, r)
			return
		}
		if s, ok := out.(streamBody); ok {
			s.send(w, h.cfg.Logger)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(out)
	}
}

func writeError(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(api.HTTPStatus(e.Code))
	json.NewEncoder(w).Encode(api.ErrorBody{Error: e})
}

func rfc3339(unix uint64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(int64(unix), 0).UTC().Format(time.RFC3339)
}

func hexHash(b []byte) string { return "0x" + hex.EncodeToString(b) }

func addrParam(r *http.Request, name string) (keys.Address, error) {
	a, err := keys.ParseAddress(r.PathValue(name))
	if err != nil {
		return a, api.Errorf(api.ErrBadRequest, "%s: %v", name, err)
	}
	return a, nil
}

func addrQuery(r *http.Request, name string) (keys.Address, error) {
	return optionalAddress(name, r.URL.Query().Get(name))
}

func uintQuery(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, api.Errorf(api.ErrBadRequest, "%s=%q: want a non-negative integer", name, v)
	}
	return n, nil
}

func limitQuery(r *http.Request) (int, error) { return limitQueryOf(r, defaultLimit, maxLimit) }

func limitQueryOf(r *http.Request, def, most uint64) (int, error) {
	n, err := uintQuery(r, "limit", def)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > most {
		return 0, api.Errorf(api.ErrBadRequest, "limit must be 1..%d", most)
	}
	return int(n), nil
}

// devicePage is the camera named in the path and the paging query of the
// per-camera lists: epoch (default the camera's current one), from, limit.
type devicePage struct {
	dev    *ledger.Device
	epoch  uint64
	stream feedchain.Stream // ?stream= (streams.go)
	from   uint64
	limit  int
}

func (h *Hub) devicePageQuery(r *http.Request, defLimit, maxLimit uint64) (*devicePage, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	p := &devicePage{dev: d}
	if p.epoch, err = uintQuery(r, "epoch", d.Epoch); err != nil {
		return nil, err
	}
	if p.from, err = uintQuery(r, "from", 0); err != nil {
		return nil, err
	}
	if p.stream, err = streamQuery(r); err != nil {
		return nil, err
	}
	if p.limit, err = limitQueryOf(r, defLimit, maxLimit); err != nil {
		return nil, err
	}
	return p, nil
}

func (h *Hub) status(r *http.Request) (any, error) {
	st, err := h.node.Status(r.Context())
	if err != nil {
		return nil, err
	}
	height, _ := h.node.App.Height()
	s := api.Status{
		LedgerChainID: st.NodeInfo.Network,
		EVMChainID:    h.node.App.EVMChainID(),
		Height:        height,
		AppHash:       hexHash(h.node.App.AppHash()),
		HubAddress:    h.key.Address().Hex(),
		Version:       Version,
		CatchingUp:    st.SyncInfo.CatchingUp,
		ValidatorKey:  st.ValidatorInfo.Address.String(),
	}
	if !st.SyncInfo.LatestBlockTime.IsZero() && st.SyncInfo.LatestBlockHeight > 0 {
		s.LatestBlock = st.SyncInfo.LatestBlockTime.UTC().Format(time.RFC3339Nano)
	}
	return s, nil
}

// validators is the ledger's validator set: public, as every ledger fact
// the validators sign is.
func (h *Hub) validators(*http.Request) (any, error) {
	vs, err := h.node.App.ValidatorSet()
	if err != nil {
		return nil, err
	}
	return ValidatorSetView(vs), nil
}

// ValidatorSetView is the API's form of a validator set.
func ValidatorSetView(vs ledger.ValidatorSet) api.ValidatorSet {
	out := api.ValidatorSet{Epoch: vs.Epoch, Validators: []api.Validator{}, Proposals: []api.ValidatorProposal{}}
	power := map[keys.Address]uint64{}
	for _, v := range vs.Validators {
		out.TotalPower += v.Power
		power[v.Hub] = v.Power
		out.Validators = append(out.Validators, api.Validator{Hub: v.Hub.Hex(), ValidatorKey: "0x" + hex.EncodeToString(v.PubKey[:]), Power: v.Power})
	}
	for _, p := range vs.Proposals {
		pv := api.ValidatorProposal{ID: "0x" + hex.EncodeToString(p.ID[:]), Hub: p.Hub.Hex(), ValidatorKey: "0x" + hex.EncodeToString(p.PubKey[:]),
			Power: p.Power, Opened: rfc3339(p.Opened), Voters: []string{}}
		for _, v := range p.Voters {
			pv.Voters = append(pv.Voters, v.Hex())
			pv.VotedPower += power[v]
		}
		out.Proposals = append(out.Proposals, pv)
	}
	return out
}

func deviceView(d *ledger.Device, now uint64) api.Device {
	v := api.Device{
		Camera:           d.Camera.Hex(),
		Owned:            d.Owned(),
		Epoch:            d.Epoch,
		ImprintedAt:      rfc3339(d.ImprintedAt),
		CheckpointPeriod: d.Period(),
		Grants:           grantViews(d, now),
		Checkpoints:      api.CheckpointsSummary{Count: d.Checkpoints, LastPeriodEnd: rfc3339(d.LastPeriodEnd)},
	}
	if d.Checkpoints > 0 {
		v.Checkpoints.LastSeq = d.LastSeq
	}
	if d.Owned() {
		v.Owner = d.Owner.Hex()
	}
	if d.Hub != (keys.Address{}) {
		v.Hub = d.Hub.Hex()
	}
	return v
}

func grantViews(d *ledger.Device, now uint64) []api.Grant {
	out := make([]api.Grant, 0, len(d.Grants))
	for _, g := range d.Grants {
		out = append(out, api.Grant{
			Viewer:      g.Viewer.Hex(),
			ValidUntil:  rfc3339(g.ValidUntil),
			HistoryFrom: rfc3339(g.HistoryFrom),
			GrantedAt:   rfc3339(g.GrantedAt),
			Active:      g.Active(now),
		})
	}
	return out
}

func now() uint64 { return uint64(time.Now().Unix()) }

// lookupDevice is the camera of the path as authorization saw it at this
// request (the same ledger state), else as the ledger has it now.
func (h *Hub) lookupDevice(r *http.Request) (*ledger.Device, error) {
	if a := accessOf(r); a != nil {
		return a.dev, nil
	}
	return h.ledgerDevice(r)
}

func (h *Hub) ledgerDevice(r *http.Request) (*ledger.Device, error) {
	cam, err := addrParam(r, "camera")
	if err != nil {
		return nil, err
	}
	d, err := h.node.App.Device(cam)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, api.Errorf(api.ErrNotFound, "camera %s is not on the ledger (never imprinted)", cam.Hex())
	}
	return d, nil
}

func (h *Hub) device(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	v := deviceView(d, now())
	if a := accessOf(r); a != nil && a.limited {
		return api.Device{Camera: v.Camera, Owned: v.Owned, Epoch: v.Epoch, CheckpointPeriod: v.CheckpointPeriod, Grants: []api.Grant{}}, nil
	}
	if v.SubCheckpoints, err = h.subCheckpointsSummary(d); err != nil {
		return nil, err
	}
	if a := accessOf(r); a != nil && !a.owner {
		// A viewer sees its own grant, not who else watches.
		mine := v.Grants[:0]
		for _, g := range v.Grants {
			if g.Viewer == a.viewer.Hex() {
				mine = append(mine, g)
			}
		}
		v.Grants = mine
	}
	return v, nil
}

func (h *Hub) grants(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	return api.List[api.Grant]{Items: grantViews(d, now())}, nil
}

func (h *Hub) ownerDevices(r *http.Request) (any, error) {
	o, err := addrParam(r, "owner")
	if err != nil {
		return nil, err
	}
	ds, err := h.node.App.DevicesOf(o)
	if err != nil {
		return nil, err
	}
	out := api.List[api.Device]{Items: make([]api.Device, 0, len(ds))}
	for i := range ds {
		out.Items = append(out.Items, deviceView(&ds[i], now()))
	}
	return out, nil
}

func (h *Hub) checkpoints(r *http.Request) (any, error) {
	p, err := h.devicePageQuery(r, defaultLimit, maxLimit)
	if err != nil {
		return nil, err
	}
	d, epoch, from, limit := p.dev, p.epoch, p.from, p.limit
	recs, err := h.checkpointsOf(d.Camera, epoch, p.stream, from, limit+1)
	if err != nil {
		return nil, err
	}
	out := api.List[api.Checkpoint]{Items: []api.Checkpoint{}}
	hist := historyFrom(r)
	for i, c := range recs {
		if i == limit {
			out.Next = strconv.FormatUint(c.Index, 10)
			break
		}
		if c.Msg.PeriodEnd <= hist {
			continue // wholly before the viewer's grant reaches back
		}
		out.Items = append(out.Items, checkpointView(c))
	}
	return out, nil
}

func (h *Hub) audit(r *http.Request) (any, error) {
	cam, err := addrQuery(r, "camera")
	if err != nil {
		return nil, err
	}
	princ, err := addrQuery(r, "principal")
	if err != nil {
		return nil, err
	}
	before, err := uintQuery(r, "before", 0)
	if err != nil {
		return nil, err
	}
	limit, err := limitQuery(r)
	if err != nil {
		return nil, err
	}
	evs, err := h.node.App.Events(ledger.EventFilter{Camera: cam, Principal: princ, Before: before, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := api.List[api.Event]{Items: []api.Event{}}
	zero := keys.Address{}
	hexOr := func(a keys.Address) string {
		if a == zero {
			return ""
		}
		return a.Hex()
	}
	for i, e := range evs {
		if i == limit {
			out.Next = strconv.FormatUint(evs[i-1].Seq, 10)
			break
		}
		out.Items = append(out.Items, api.Event{
			Seq: e.Seq, Height: e.Height, Time: rfc3339(e.Time), Kind: string(e.Kind), Source: string(e.Kind.Source()),
			Camera: hexOr(e.Camera), Actor: hexOr(e.Actor), Owner: hexOr(e.Owner), Hub: hexOr(e.Hub), Subject: hexOr(e.Subject),
			Detail: e.Detail, TxHash: hexHash(e.TxHash[:]),
		})
	}
	return out, nil
}

func parseHash(s string) (feedchain.Hash, error) {
	var h feedchain.Hash
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) != len(h) {
		return h, api.Errorf(api.ErrBadRequest, "transaction hash %q: want 0x followed by 64 hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

func (h *Hub) lookupTx(r *http.Request) (any, error) {
	hash, err := parseHash(r.PathValue("hash"))
	if err != nil {
		return nil, err
	}
	res, err := h.node.Tx(r.Context(), hash, false)
	if err != nil {
		if errors.Is(err, ledger.ErrTxNotFound) {
			return nil, api.Errorf(api.ErrNotFound, "transaction %s is not in a committed block", hexHash(hash[:]))
		}
		return nil, err
	}
	out := api.TxResult{
		Hash: hexHash(hash[:]), Code: res.TxResult.Code, CodeName: ledger.CodeName(res.TxResult.Code),
		Log: res.TxResult.Log, Height: uint64(res.Height), Index: res.Index, Tx: hexHash(res.Tx),
	}
	if t, err := tx.Decode(res.Tx); err == nil {
		out.Type = string(t.Msg.Type())
	}
	return out, nil
}

// nonceUse names the committed transaction that spent a signer's nonce.
func (h *Hub) nonceUse(r *http.Request) (any, error) {
	signer, err := addrParam(r, "signer")
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(r.PathValue("nonce"), 10, 64)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "nonce %q: want a decimal uint64", r.PathValue("nonce"))
	}
	hash, ok, err := h.node.App.NonceTx(signer, n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, api.Errorf(api.ErrNotFound, "no committed transaction of %s spent nonce %d (or it has expired)", signer.Hex(), n)
	}
	return api.NonceUse{Signer: signer.Hex(), Nonce: strconv.FormatUint(n, 10), TxHash: hexHash(hash[:])}, nil
}

func (h *Hub) submit(r *http.Request) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "read body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, api.Errorf(api.ErrBadRequest, "body over %d bytes", maxBodyBytes)
	}
	var req api.SubmitRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, `body must be {"tx": "0x<hex>"}: %v`, err)
	}
	if dec.More() {
		return nil, api.Errorf(api.ErrBadRequest, `body must be one JSON object {"tx": "0x<hex>"}, nothing after it`)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(req.Tx, "0x"))
	if err != nil || len(raw) == 0 {
		return nil, api.Errorf(api.ErrBadRequest, `"tx" must be 0x-prefixed hex of a signed transaction`)
	}
	// Signatures first, then the budget (SPEC §4.1). A transaction whose
	// signatures do not verify still goes to the ledger, which refuses it
	// and writes nothing, but the hub records nothing about it.
	v := verify(raw)
	if err := h.admit(r, v); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), submitTimeout)
	defer cancel()
	res, err := h.node.Submit(ctx, raw)
	out := txResult(res)
	if err := submitError(err, out); err != nil {
		return nil, err
	}
	if res.Code != ledger.CodeOK {
		h.ledgerRefused(r, v, res)
		e := api.Errorf(api.ErrRefused, "ledger refused the transaction: %s: %s", out.CodeName, res.Log)
		e.Result = &out
		return nil, e
	}
	if v != nil {
		out.Type = string(v.tx.Msg.Type())
	}
	return out, nil
}

// submitError maps a ledger.Node.Submit error to the API's: 409 for a
// transaction the node already holds, 504 when the block did not come in
// time.
func submitError(err error, out api.TxResult) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrDuplicate):
		e := api.Errorf(api.ErrConflict, "transaction %s was already submitted; look it up with GET %s/txs/%s", out.Hash, api.Prefix, out.Hash)
		e.Result = &out
		return e
	case errors.Is(err, context.DeadlineExceeded):
		return api.Errorf(api.ErrTimeout, "transaction %s not committed within %s; look it up later", out.Hash, submitTimeout)
	}
	return err
}
