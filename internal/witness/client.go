package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/camchain/camchain/internal/feedchain"
)

// Why a witness did not cosign.
var (
	// ErrFork: the witness refused the consistency proof from the tree it
	// saw last: it holds another tree of this log at that size. Two
	// histories of one camera's chain exist; a *ForkError says where.
	ErrFork = errors.New("witness: fork: the witness saw another tree of this log")
	// ErrConflict: the witness's last tree of this log is not of the size
	// the request started from (a *ConflictError gives its size).
	ErrConflict = errors.New("witness: the witness's last tree size is not the one assumed")
	// ErrRefused: the witness does not know this log or its key (403/404),
	// or refused the request as malformed (400): its operator must add the
	// log with the hub's verifier key for that origin.
	ErrRefused = errors.New("witness: the witness refused the checkpoint")
	// ErrUnavailable: no usable answer (network, 5xx, a malformed answer).
	ErrUnavailable = errors.New("witness: no usable answer from the witness")
)

// ConflictError is a 409 answer: the witness's last tree of the log has
// Known leaves.
type ConflictError struct {
	Witness string
	Known   uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness %s: its last tree of this log has %d records", e.Witness, e.Known)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ForkError: a witness holds another tree of origin at OldSize than the
// one the hub's records give, so it refused the consistency proof to Size.
type ForkError struct {
	Witness string
	Origin  string
	OldSize uint64
	Size    uint64
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("witness %s refused the consistency proof of log %s from size %d to %d: it saw another tree of %d records: two histories of this camera's chain exist",
		e.Witness, e.Origin, e.OldSize, e.Size, e.OldSize)
}

func (e *ForkError) Is(target error) bool { return target == ErrFork }

// Client speaks C2SP tlog-witness to one witness.
type Client struct {
	// Key is the witness's cosigning key, configured by the owner.
	Key Key
	// URL is the witness's submission prefix; requests go to
	// URL + "/add-checkpoint".
	URL string
	// HTTP is the client to use (nil: http.DefaultClient).
	HTTP *http.Client
}

// AddCheckpoint sends one add-checkpoint request: the size the witness
// saw last (oldSize, 0 for none), the consistency proof from that tree to
// the note's, and the signed note. It returns the witness's signature
// lines, or an error matching ErrConflict (a *ConflictError), ErrRefused,
// ErrFork (the witness rejected the proof: a 422) or ErrUnavailable.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof []feedchain.Hash, signedNote []byte) ([]byte, error) {
	if len(proof) > MaxProofHashes {
		return nil, fmt.Errorf("witness: a consistency proof of %d hashes, over %d", len(proof), MaxProofHashes)
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", oldSize)
	for _, h := range proof {
		body.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		body.WriteByte('\n')
	}
	body.WriteByte('\n')
	body.Write(signedNote)

	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/add-checkpoint", &body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, c.Key.Name, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, c.Key.Name, err)
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil || len(ans) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: %s: the answer is unreadable or over %d bytes", ErrUnavailable, c.Key.Name, MaxResponseBytes)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return ans, nil
	case http.StatusConflict:
		s := strings.TrimSuffix(string(ans), "\n")
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || s != strconv.FormatUint(n, 10) {
			return nil, fmt.Errorf("%w: %s: a 409 without a tree size", ErrUnavailable, c.Key.Name)
		}
		return nil, &ConflictError{Witness: c.Key.Name, Known: n}
	case http.StatusUnprocessableEntity:
		return nil, ErrFork
	case http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest:
		return nil, fmt.Errorf("%w: %s answered %d %s", ErrRefused, c.Key.Name, resp.StatusCode, firstLine(ans))
	}
	return nil, fmt.Errorf("%w: %s answered %d %s", ErrUnavailable, c.Key.Name, resp.StatusCode, firstLine(ans))
}

// firstLine is the start of a witness's error text, safe to log.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return strconv.Quote(s)
}

// Tree is what Publish needs of the log's tree: roots and consistency
// proofs at any size up to the checkpoint's (*checkpoint.Tree).
type Tree interface {
	Size() uint64
	RootAt(size uint64) (feedchain.Hash, error)
	ConsistencyProof(size1, size2 uint64) ([]feedchain.Hash, error)
}

// Publish has the witness cosign the checkpoint of tree at size, starting
// from the size it saw last as far as the hub knows (lastSize, 0 for
// none). It signs the note with the origin's log key, sends it with the
// consistency proof, and, when the witness saw another size that the
// hub's tree reaches, tries once more from there. It returns the verified
// cosignature, a *ForkError when the witness refuses the proof (an alarm),
// or another error of AddCheckpoint's.
func Publish(ctx context.Context, c *Client, lk *LogKeys, origin string, tree Tree, size, lastSize uint64) (Cosignature, error) {
	if size == 0 || size > tree.Size() {
		return Cosignature{}, fmt.Errorf("witness: cannot publish size %d of a tree of %d", size, tree.Size())
	}
	root, err := tree.RootAt(size)
	if err != nil {
		return Cosignature{}, err
	}
	body := Body(origin, size, root)
	signed, err := lk.Sign(body)
	if err != nil {
		return Cosignature{}, err
	}
	old := min(lastSize, size)
	for attempt := 0; ; attempt++ {
		var proof []feedchain.Hash
		if old > 0 && old < size {
			if proof, err = tree.ConsistencyProof(old, size); err != nil {
				return Cosignature{}, err
			}
		}
		lines, err := c.AddCheckpoint(ctx, old, proof, signed)
		var ce *ConflictError
		switch {
		case errors.Is(err, ErrFork):
			return Cosignature{}, &ForkError{Witness: c.Key.Name, Origin: origin, OldSize: old, Size: size}
		case errors.As(err, &ce) && attempt == 0 && ce.Known <= size:
			old = ce.Known
			continue
		case err != nil:
			return Cosignature{}, err
		}
		cs, err := ParseSignatureLines(lines, c.Key)
		if err != nil {
			return Cosignature{}, fmt.Errorf("%w: %s: %v", ErrUnavailable, c.Key.Name, err)
		}
		for _, cs := range cs {
			if cs.Verify(body) == nil {
				return cs, nil
			}
		}
		return Cosignature{}, fmt.Errorf("%w: %s answered without a valid cosignature by its key %s", ErrUnavailable, c.Key.Name, c.Key)
	}
}
