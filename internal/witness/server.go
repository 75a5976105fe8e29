package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
)

// A Server is a C2SP tlog-witness (docs/SPEC.md §16.6): the hub running a
// witness for other hubs' logs. Its operator adds each log it witnesses by
// the log's signed-note verifier key (whose name is the log's origin); for
// each it keeps the last tree it cosigned, and cosigns a new checkpoint
// only when the note verifies under that key and a consistency proof shows
// the new tree extends the old one. Its answers follow the protocol, as
// torchwood's litewitness gives them (TestServerAnswersAsLitewitness):
//
//	200  the cosignature line (tlog-cosignature/v1, made by torchwood)
//	400  a malformed request, or an old size above the checkpoint's
//	403  the note does not verify under the log's key
//	404  a log the operator did not add
//	409  the old size is not the last one cosigned (the body gives it)
//	413  a request over MaxWitnessRequestBytes
//	422  the consistency proof does not verify: a fork, or a bad proof
//
// The state (logs and their last trees) is one file, rewritten atomically
// and fsynced before a cosignature is sent, so a witness that crashes
// never cosigns two trees of one size:
//
//	<dir>/witnessed.json   {"logs":[{"vkey":…,"size":N,"root":base64}]}
type Server struct {
	name   string
	signer *torchwood.CosignatureSigner
	public ed25519.PublicKey
	path   string
	log    *slog.Logger

	mu   sync.Mutex
	logs map[string]*witnessedLog // by origin
}

type witnessedLog struct {
	vkey     string
	verifier note.Verifier
	size     uint64
	root     feedchain.Hash
}

// MaxWitnessRequestBytes caps an add-checkpoint request: the old size, a
// consistency proof of at most MaxProofHashes hashes and a signed note.
const MaxWitnessRequestBytes = 16 << 10

// cosigningKeyLabel domain-separates the hub's witness cosigning key from
// its log keys, both derived from the hub's log secret.
const cosigningKeyLabel = "camchain/v1/witness-cosigning-key"

// CosigningKey derives the hub's Ed25519 witness cosigning key from its
// log secret (HKDF-SHA-256, info cosigningKeyLabel): no new secret to
// keep, and never equal to a log key (other info).
func (k *LogKeys) CosigningKey() ed25519.PrivateKey {
	seed, err := hkdf.Key(sha256.New, k.secret[:], nil, cosigningKeyLabel, ed25519.SeedSize)
	if err != nil {
		panic("witness: hkdf: " + err.Error())
	}
	return ed25519.NewKeyFromSeed(seed)
}

// ErrUnknownLog: AddLog's key is not a signed-note Ed25519 log key.
var ErrUnknownLog = errors.New("witness: not a log verifier key")

// NewServer opens (creating) a witness named name cosigning with key,
// keeping its state in dir.
func NewServer(dir, name string, key ed25519.PrivateKey, logger *slog.Logger) (*Server, error) {
	if !validName(name) {
		return nil, fmt.Errorf("witness: %q cannot name a witness (no spaces or '+', at most %d bytes)", name, MaxNameBytes)
	}
	signer, err := torchwood.NewCosignatureSigner(name, key)
	if err != nil {
		return nil, fmt.Errorf("witness: cosigning key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{name: name, signer: signer, public: key.Public().(ed25519.PublicKey),
		path: filepath.Join(dir, "witnessed.json"), log: logger, logs: map[string]*witnessedLog{}}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Key is the server's cosigning key, as the logs' owners configure it
// (Key.String is the verifier key for --witness URL,VKEY).
func (s *Server) Key() Key { return Key{Name: s.name, Public: s.public} }

type serverState struct {
	Logs []serverStateLog `json:"logs"`
}

type serverStateLog struct {
	VKey string `json:"vkey"`
	Size uint64 `json:"size"`
	Root string `json:"root,omitempty"`
}

func (s *Server) load() error {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	var st serverState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("witness: %s is not a witness state file: %v", s.path, err)
	}
	for i, l := range st.Logs {
		wl, err := parseLogKey(l.VKey)
		if err != nil {
			return fmt.Errorf("witness: %s log %d: %w", s.path, i+1, err)
		}
		wl.size = l.Size
		if l.Size > 0 {
			r, err := base64.StdEncoding.Strict().DecodeString(l.Root)
			if err != nil || len(r) != len(wl.root) {
				return fmt.Errorf("witness: %s log %d: bad root", s.path, i+1)
			}
			copy(wl.root[:], r)
		}
		s.logs[wl.verifier.Name()] = wl
	}
	return nil
}

// save writes the whole state, atomically and durably. s.mu is held.
func (s *Server) save() error {
	var st serverState
	for _, l := range s.logs {
		sl := serverStateLog{VKey: l.vkey, Size: l.size}
		if l.size > 0 {
			sl.Root = base64.StdEncoding.EncodeToString(l.root[:])
		}
		st.Logs = append(st.Logs, sl)
	}
	sort.Slice(st.Logs, func(i, j int) bool { return st.Logs[i].VKey < st.Logs[j].VKey })
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path, append(data, '\n'), 0o600)
}

func parseLogKey(vkey string) (*witnessedLog, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownLog, err)
	}
	if !validName(v.Name()) {
		return nil, fmt.Errorf("%w: its name %q is not a log origin", ErrUnknownLog, v.Name())
	}
	return &witnessedLog{vkey: vkey, verifier: v}, nil
}

// AddLog has the witness witness the log of this verifier key (the
// key's name is the log's origin; GET /devices/{camera}/witness on the
// log's hub gives it). Adding a log already added with the same key does
// nothing; another key for a known origin is refused.
func (s *Server) AddLog(vkey string) error {
	wl, err := parseLogKey(vkey)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.logs[wl.verifier.Name()]; old != nil {
		if old.vkey == vkey {
			return nil
		}
		return fmt.Errorf("witness: log %s is already witnessed under another key", wl.verifier.Name())
	}
	s.logs[wl.verifier.Name()] = wl
	if err := s.save(); err != nil {
		delete(s.logs, wl.verifier.Name())
		return fmt.Errorf("witness: %w", err)
	}
	return nil
}

// Logs is the number of logs witnessed.
func (s *Server) Logs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs)
}

// ServeHTTP answers POST <prefix>/add-checkpoint; mount it under the
// submission prefix with http.StripPrefix or at that path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "add-checkpoint takes POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWitnessRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request over %d bytes", MaxWitnessRequestBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	sigs, status, msg := s.addCheckpoint(body)
	switch status {
	case http.StatusOK:
		w.Header().Set("Content-Type", "text/x.tlog.signature")
		w.Write(sigs)
	case http.StatusConflict:
		w.Header().Set("Content-Type", "text/x.tlog.size")
		w.WriteHeader(status)
		io.WriteString(w, msg+"\n")
	default:
		http.Error(w, msg, status)
	}
}

// addCheckpoint is one request: its answer's body (signature lines, or
// the known size for a 409, or an error text) and status.
func (s *Server) addCheckpoint(req []byte) ([]byte, int, string) {
	head, signed, ok := bytes.Cut(req, []byte("\n\n"))
	if !ok {
		return nil, http.StatusBadRequest, "want the old size, the proof, a blank line and the signed checkpoint"
	}
	lines := strings.Split(string(head), "\n")
	n, ok := strings.CutPrefix(lines[0], "old ")
	oldSize, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || n != strconv.FormatUint(oldSize, 10) {
		return nil, http.StatusBadRequest, "the first line must be \"old <size>\""
	}
	if len(lines)-1 > MaxProofHashes {
		return nil, http.StatusBadRequest, fmt.Sprintf("a consistency proof of over %d hashes", MaxProofHashes)
	}
	proof := make(tlog.TreeProof, len(lines)-1)
	for i, l := range lines[1:] {
		if proof[i], err = tlog.ParseHash(l); err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("proof line %d is not a base64 hash", i+1)
		}
	}
	origin, _, _ := bytes.Cut(signed, []byte("\n"))

	s.mu.Lock()
	defer s.mu.Unlock()
	wl := s.logs[string(origin)]
	if wl == nil {
		return nil, http.StatusNotFound, "unknown log"
	}
	nt, err := note.Open(signed, note.VerifierList(wl.verifier))
	if err != nil {
		var unv *note.UnverifiedNoteError
		var inv *note.InvalidSignatureError
		if errors.As(err, &unv) || errors.As(err, &inv) {
			return nil, http.StatusForbidden, "the checkpoint is not signed by the log's key"
		}
		return nil, http.StatusBadRequest, "not a signed note"
	}
	cp, err := torchwood.ParseCheckpoint(nt.Text)
	if err != nil || cp.Origin != string(origin) || cp.N < 0 {
		return nil, http.StatusBadRequest, "not a checkpoint"
	}
	size := uint64(cp.N)
	if oldSize > size {
		return nil, http.StatusBadRequest, "the old size is above the checkpoint's"
	}
	if oldSize != wl.size {
		return nil, http.StatusConflict, strconv.FormatUint(wl.size, 10)
	}
	if oldSize > 0 {
		if err := tlog.CheckTree(proof, cp.N, cp.Hash, int64(oldSize), tlog.Hash(wl.root)); err != nil {
			s.log.Warn("witness: refused a checkpoint that does not extend the tree cosigned before (a fork, or a bad proof)",
				"origin", cp.Origin, "old_size", oldSize, "size", size)
			return nil, http.StatusUnprocessableEntity, "the consistency proof does not verify"
		}
	}
	prev := *wl
	wl.size, wl.root = size, feedchain.Hash(cp.Hash)
	if err := s.save(); err != nil {
		wl.size, wl.root = prev.size, prev.root
		s.log.Error("witness: cannot keep its state", "err", err)
		return nil, http.StatusInternalServerError, "the witness cannot keep its state"
	}
	out, err := note.Sign(&note.Note{Text: nt.Text}, s.signer)
	if err != nil {
		return nil, http.StatusInternalServerError, "cannot cosign"
	}
	// note.Sign returns the text, a blank line, then the signature lines:
	// the answer is those lines.
	return out[len(nt.Text)+1:], http.StatusOK, ""
}
