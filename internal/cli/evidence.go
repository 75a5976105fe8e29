package cli

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/webui"
	"github.com/camchain/camchain/internal/witness"
)

func newEvidenceCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Export and verify evidence bundles: clips a stranger can check offline",
		Long: `An evidence bundle (docs/SPEC.md §10) is one file holding a camera's clips
with their signed records, Merkle inclusion proofs, the camera's checkpoint
transactions, their proofs of inclusion in ledger blocks, the signed block
headers and the validator sets. Anyone can verify it offline, with no access
to the hub or the ledger.`,
		Args: noArgs,
	}
	cmd.AddCommand(newEvidenceExportCmd(e), newEvidenceVerifyCmd(e), newEvidenceValidatorsHashCmd(e))
	return cmd
}

func newEvidenceExportCmd(e *env) *cobra.Command {
	var camera, from, to, out, pin, stream, htmlOut string
	var epoch int64
	var force, reveal bool
	cmd := &cobra.Command{
		Use:   "export --camera CAMERA --from TIME --to TIME -o FILE [--html PAGE] [--reveal]",
		Short: "Fetch a bundle of a camera's recordings from the hub, verify it, and save it",
		Long: `Fetch from the hub the evidence bundle of CAMERA's recordings that start in
[--from, --to) (RFC 3339 times), verify it, and only then write it to FILE
(atomically; an existing FILE is kept unless --force). Every recording in the
range must be covered by a checkpoint already on the ledger: the camera
commits one at the end of each period. Each of a camera's streams is its own
chain with its own checkpoints (docs/SPEC.md §6.5): --stream sub bundles the
sub stream's recordings.

--html PAGE also writes the bundle inside one self-contained HTML file that
verifies it in any browser, offline (docs/SPEC.md §10.7): give it to someone
who has no camchain; they open it, enter the ledger's validator-set hash (and
any witness key they trust) and read what is proven.

The clips of an end-to-end encrypted camera (docs/SPEC.md §17) are bundled as
their sealed bytes: they verify without a key, but do not play. --reveal adds
the segment key of each exported sealed clip (docs/SPEC.md §10.8), opened here
from its key envelope with your viewing key (from your wallet: --keystore,
--passphrase-file): whoever has the bundle then plays exactly those clips. A
segment key opens its own segment and nothing else, neither the period's
other segments nor any other video of the camera. With --html the page
checks the keys too and plays the revealed clips.`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().BoolVar(&reveal, "reveal", false, "add the segment keys of the exported sealed clips, so that they play for whoever has the bundle (needs your wallet)")
	cmd.Flags().StringVar(&camera, "camera", "", "camera `ADDRESS`")
	cmd.Flags().StringVar(&from, "from", "", "first recording start to include, RFC 3339 (2026-05-01T12:00:00Z)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range (exclusive), RFC 3339")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the bundle to `FILE`")
	cmd.Flags().Int64Var(&epoch, "epoch", -1, "binding epoch (default: the camera's current one)")
	cmd.Flags().StringVar(&stream, "stream", "main", "which chain to bundle: main or sub")
	cmd.Flags().StringVar(&pin, "validators-hash", "", "verify against this pinned validator-set `HASH` (hex) before writing")
	var trust pinFlags
	cmd.Flags().StringArrayVar(&trust.witnesses, "witness", nil, "require each checkpoint to be cosigned by this witness `VKEY` before writing (repeatable; docs/SPEC.md §16.3)")
	cmd.Flags().StringArrayVar(&trust.tsaCerts, "tsa-cert", nil, "require each checkpoint to be timestamped by the TSA of this PEM `FILE` before writing (repeatable; §16.5)")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE (and PAGE) if it exists")
	cmd.Flags().StringVar(&htmlOut, "html", "", "also write the offline HTML verifier with the bundle inside to `PAGE`")
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		cam, err := parseAddrFlag("camera", camera)
		if err != nil {
			return err
		}
		t1, err := parseTimeFlag("from", from)
		if err != nil {
			return err
		}
		t2, err := parseTimeFlag("to", to)
		if err != nil {
			return err
		}
		if !t1.Before(t2) {
			return usageError{fmt.Errorf("--from %s is not before --to %s", from, to)}
		}
		if out == "" {
			return usageError{errors.New("-o FILE is required")}
		}
		if _, err := feedchain.ParseStream(stream); err != nil {
			return usageError{fmt.Errorf("--stream: %w", err)}
		}
		pinned, err := parsePin(pin)
		if err != nil {
			return err
		}
		ws, err := trust.trusted()
		if err != nil {
			return err
		}
		roots, err := trust.tsaRoots()
		if err != nil {
			return err
		}
		if !force {
			for _, f := range []string{out, htmlOut} {
				if _, err := os.Stat(f); f != "" && err == nil {
					return usageError{fmt.Errorf("%s exists; pass --force to replace it", f)}
				}
			}
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		data, err := c.Evidence(ctx, cam.Hex(), api.EvidenceQuery{From: t1, To: t2, Epoch: epoch, Stream: stream}, evidence.MaxBundleBytes)
		if err != nil {
			return err
		}
		rep, err := evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: pinned, Now: time.Now(), Witnesses: ws, TSARoots: roots})
		if err != nil {
			return fmt.Errorf("the hub sent a bundle that does not verify, so nothing was written: %w", err)
		}
		if rep.Stream != stream {
			return fmt.Errorf("asked for the %s stream's recordings, the hub sent a bundle of the %s stream's; nothing was written", stream, rep.Stream)
		}
		revealed := 0
		if reveal {
			if data, revealed, err = e.revealKeys(ctx, &opener{e: e, ks: ks, c: c, camera: cam}, data); err != nil {
				return fmt.Errorf("--reveal: %w; nothing was written", err)
			}
			if revealed > 0 {
				if rep, err = evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: pinned, Now: time.Now(), Witnesses: ws, TSARoots: roots}); err != nil {
					return fmt.Errorf("--reveal: the bundle with its keys does not verify, so nothing was written: %w", err)
				}
			}
		}
		write := atomicfile.Create
		if force {
			write = atomicfile.Write
		}
		var page []byte
		if htmlOut != "" {
			if page, err = webui.VerifierPage(data); err != nil {
				return err
			}
		}
		if err := write(out, data, 0o600); err != nil { // video of someone's home: private until shared
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s appeared meanwhile; nothing written (use --force)", out)
			}
			return err
		}
		if htmlOut != "" {
			if err := write(htmlOut, page, 0o600); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s appeared meanwhile; the bundle is in %s, no page written (use --force)", htmlOut, out)
				}
				return err
			}
		}
		if hf.jsonOut {
			return e.printJSON(verifyResult{OK: true, File: out, Bytes: len(data), HTML: htmlOut, Report: rep})
		}
		first, last := rep.Clips[0], rep.Clips[len(rep.Clips)-1]
		fmt.Fprintf(e.stdout, "wrote %s (%d bytes): %d clip(s) of camera %s, epoch %d, %s stream, records #%d–#%d (%s to %s), under %d checkpoint(s) at block(s) %s of %s\n",
			out, len(data), len(rep.Clips), rep.Camera, rep.Epoch, rep.Stream, first.Seq, last.Seq, first.Start, last.Start,
			len(rep.Checkpoints), heights(rep), rep.LedgerChainID)
		if htmlOut != "" {
			fmt.Fprintf(e.stdout, "wrote %s: the bundle with its offline verifier; open it in a browser\n", htmlOut)
		}
		switch sealed := sealedClips(rep); {
		case reveal && sealed == 0:
			fmt.Fprintf(e.stdout, "no clip is end-to-end encrypted: there was no key to reveal, and every clip plays\n")
		case reveal:
			fmt.Fprintf(e.stdout, "revealed the segment keys of %d sealed clip(s): whoever has the bundle can play them, and no other video\n", revealed)
		case sealed > 0:
			fmt.Fprintf(e.stdout, "%d clip(s) are end-to-end encrypted: they verify, but play only with --reveal (their segment keys in the bundle)\n", sealed)
		}
		switch {
		case rep.Pinned && len(rep.ValidatorChanges) > 0:
			fmt.Fprintf(e.stdout, "verified against the pinned genesis validator set %s, through %d change(s) of the set to %s\n",
				rep.GenesisValidatorsHash, len(rep.ValidatorChanges), rep.ValidatorChanges[len(rep.ValidatorChanges)-1].To)
		case rep.Pinned:
			fmt.Fprintf(e.stdout, "verified against the pinned validator set %s\n", strings.Join(rep.ValidatorsHashes, ", "))
		default:
			fmt.Fprintf(e.stdout, "verified as self-consistent; signed by validator set %s (not pinned: a recipient should verify with --validators-hash)\n",
				strings.Join(rep.ValidatorsHashes, ", "))
		}
		return nil
	}
	return cmd
}

// revealKeys adds to a verified bundle the segment key of each of its
// sealed clips (version 4, docs/SPEC.md §10.8), each content key opened
// from its envelope with the caller's viewing key, and checks each opens
// its clip. It returns data unchanged when no clip is sealed.
func (e *env) revealKeys(ctx context.Context, o *opener, data []byte) ([]byte, int, error) {
	b, err := evidence.Decode(data)
	if err != nil {
		return nil, 0, err
	}
	for i := range b.Clips {
		c := &b.Clips[i]
		h, err := e2ee.ParseSealedHeader(c.Segment)
		if err != nil {
			continue // in the clear: it plays as it is
		}
		sk, err := o.segmentKey(ctx, h)
		if err != nil {
			return nil, 0, fmt.Errorf("clip %d (record #%d): %w", i, c.LeafIndex, err)
		}
		if _, err := sk.OpenSegment(c.Segment); err != nil {
			return nil, 0, fmt.Errorf("clip %d (record #%d) does not open under its content key %d: %w", i, c.LeafIndex, h.Serial, err)
		}
		b.Reveals = append(b.Reveals, evidence.Reveal{Seq: c.LeafIndex, Serial: h.Serial, Key: sk.Bytes()})
	}
	if len(b.Reveals) == 0 {
		return data, 0, nil
	}
	out, err := b.Encode()
	return out, len(b.Reveals), err
}

func sealedClips(r *evidence.Report) int {
	n := 0
	for _, c := range r.Clips {
		if c.Sealed {
			n++
		}
	}
	return n
}

// verifyResult is the --json output of export and verify.
type verifyResult struct {
	// OK: everything verified, against a pinned validator set.
	OK bool `json:"ok"`
	// SelfConsistent: everything but the pin verified (with --no-pin, OK
	// is false and this is true).
	SelfConsistent bool             `json:"self_consistent"`
	File           string           `json:"file"`
	Bytes          int              `json:"bytes,omitempty"`
	HTML           string           `json:"html,omitempty"`       // export --html: the page written
	Kind           string           `json:"error_kind,omitempty"` // evidence.KindOf: what failed
	Error          string           `json:"error,omitempty"`
	Report         *evidence.Report `json:"report,omitempty"`
	// Written are the clips verify --out wrote (their playable bytes).
	Written []string `json:"written,omitempty"`
}

func heights(r *evidence.Report) string {
	hs := make([]string, len(r.Checkpoints))
	for i, c := range r.Checkpoints {
		hs[i] = fmt.Sprint(c.Height)
	}
	return strings.Join(hs, ", ")
}

func newEvidenceVerifyCmd(e *env) *cobra.Command {
	var pf pinFlags
	var jsonOut bool
	var outDir string
	cmd := &cobra.Command{
		Use:   "verify FILE (--validators-hash HASH | --genesis GENESIS | --no-pin) [--out DIR]",
		Short: "Verify an evidence bundle offline and say exactly what it proves",
		Long: `Verify the evidence bundle in FILE with no network: the clips against their
signed records, the records against the camera's checkpoints, the checkpoints
against the signed ledger blocks, and the blocks against the ledger's
validator set, which you pin: --validators-hash HASH, or --genesis with the
ledger's genesis file (a hub keeps it in <data>/ledger/config/genesis.json).
Obtain either from a source you trust, not from whoever sent the bundle.
When the validators have changed the set since the genesis, the bundle
carries each change, signed by more than 2/3 of the set before it, and the
genesis set is still the one to pin.

Witness cosignatures in the bundle (docs/SPEC.md §16) are always checked;
--witness VKEY names a witness you trust, and then every checkpoint must be
cosigned by one you trust: that proves someone outside the owner's control
saw the history by the time it signed. RFC 3161 timestamps are always
checked too; --tsa-cert FILE names a TSA you trust (its certificate or its
CA, PEM), and then every checkpoint must carry a timestamp by one.

A bundle's blocks are signed by the validator set it carries, which anyone
could have made on a private chain of their own: without a pin nothing ties
them to the real ledger. --no-pin checks everything else and says so.

The clips of an end-to-end encrypted camera are in the bundle sealed: they
verify, and the report says they are sealed. A bundle exported with --reveal
carries their segment keys, each checked to open its clip; the report then
says "revealed: playable". --out DIR writes, once the bundle verifies, each
clip that plays (in the clear, or sealed and revealed) as DIR/<seq>.mp4 (each
a self-contained MP4); a sealed clip without its key is not written.

Exit status: 0 verified against the pinned validator set; 3 with --no-pin,
when the bundle is self-consistent but the ledger was not proven; 1 when it
does not verify; 2 for a bad command line (no pin and no --no-pin included).`,
		Args: exactArgs(1),
	}
	pf.add(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the outcome as JSON")
	cmd.Flags().StringVar(&outDir, "out", "", "write each playable clip, once the bundle verifies, to `DIR`/<seq>.mp4")
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		pinned, err := pf.resolve()
		if err != nil {
			return err
		}
		ws, err := pf.trusted()
		if err != nil {
			return err
		}
		roots, err := pf.tsaRoots()
		if err != nil {
			return err
		}
		return e.verifyBundleFile(args[0], evidence.Options{PinnedValidatorsHash: pinned, Witnesses: ws, TSARoots: roots}, jsonOut, outDir)
	}
	return cmd
}

// errNotPinned: a bundle verified with --no-pin. Main exits with
// exitNotPinned: a script must not take it for a verified bundle.
var errNotPinned = errors.New("NOT PINNED: the bundle is self-consistent, but nothing showed its blocks are the real ledger's (verify with --validators-hash or --genesis)")

// pinFlags are the ways to pin the ledger's validator set when verifying a
// bundle. One is required, or --no-pin.
type pinFlags struct {
	hash, genesis string
	none          bool
	witnesses     []string
	tsaCerts      []string
}

func (p *pinFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.hash, "validators-hash", "", "the ledger's validator-set `HASH` (hex), obtained out of band")
	cmd.Flags().StringVar(&p.genesis, "genesis", "", "pin the validator set of the ledger's genesis `FILE`, obtained out of band")
	cmd.Flags().BoolVar(&p.none, "no-pin", false, "verify without a pin: proves only that the bundle is self-consistent (exit status 3)")
	cmd.Flags().StringArrayVar(&p.tsaCerts, "tsa-cert", nil, "trust the Time-Stamping Authority whose certificate (or CA) is in this PEM `FILE`: every checkpoint must carry an RFC 3161 timestamp by it, or another trusted one (repeatable)")
	cmd.Flags().StringArrayVar(&p.witnesses, "witness", nil, "trust this witness `VKEY` (name+id+key, docs/SPEC.md §16.3): every checkpoint must carry its cosignature, or another trusted one's (repeatable)")
}

// tsaRoots reads the --tsa-cert files (nil for none).
func (p *pinFlags) tsaRoots() (*x509.CertPool, error) {
	if len(p.tsaCerts) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, f := range p.tsaCerts {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, usageError{fmt.Errorf("--tsa-cert %s: no PEM certificate in it", f)}
		}
	}
	return pool, nil
}

// trusted parses the --witness keys.
func (p *pinFlags) trusted() ([]witness.Key, error) {
	var out []witness.Key
	for _, s := range p.witnesses {
		k, err := witness.ParseKey(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("--witness %q: %w", s, err)}
		}
		out = append(out, k)
	}
	return out, nil
}

// resolve returns the pinned validator-set hash, or nil with --no-pin.
func (p *pinFlags) resolve() ([]byte, error) {
	switch n := btoi(p.hash != "") + btoi(p.genesis != "") + btoi(p.none); {
	case n == 0:
		return nil, usageError{errors.New("pin the ledger's validator set with --validators-hash HASH or --genesis GENESIS.json " +
			"(from a source you trust), or pass --no-pin to check only that the bundle is self-consistent")}
	case n > 1:
		return nil, usageError{errors.New("--validators-hash, --genesis and --no-pin exclude one another")}
	case p.genesis != "":
		g, err := os.ReadFile(p.genesis)
		if err != nil {
			return nil, err
		}
		h, err := evidence.GenesisValidatorsHash(g)
		if err != nil {
			return nil, fmt.Errorf("--genesis %s: %w", p.genesis, err)
		}
		return h, nil
	case p.none:
		return nil, nil
	}
	return parsePin(p.hash)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// verifyBundleFile verifies one evidence bundle offline, against pinned
// (nil: self-consistency only, and errNotPinned when that holds). With
// outDir it then writes each playable clip there (writeClips).
func (e *env) verifyBundleFile(p string, opts evidence.Options, jsonOut bool, outDir string) error {
	data, err := readBundle(p)
	if err != nil {
		return err
	}
	opts.Now = time.Now()
	b, err := evidence.Decode(data)
	var rep *evidence.Report
	if err == nil {
		rep, err = evidence.Verify(b, opts)
	}
	var written []string
	if err == nil && outDir != "" {
		if written, err = writeClips(b, outDir); err != nil {
			return err
		}
	}
	if jsonOut {
		res := verifyResult{OK: err == nil && rep.Pinned, SelfConsistent: err == nil, File: p, Bytes: len(data), Kind: evidence.KindOf(err), Report: rep, Written: written}
		switch {
		case err != nil:
			res.Error = err.Error()
		case !rep.Pinned:
			res.Kind, res.Error = evidence.KindOf(evidence.ErrNotPinned), errNotPinned.Error()
		default:
			res.Kind = ""
		}
		if perr := e.printJSON(res); perr != nil {
			return perr
		}
	}
	if err != nil {
		if !jsonOut {
			fmt.Fprintf(e.stdout, "NOT VERIFIED: %s\n", p)
		}
		return fmt.Errorf("%s does not verify: %w", p, err)
	}
	if !jsonOut {
		fmt.Fprint(e.stdout, rep.String())
		if outDir != "" {
			fmt.Fprintf(e.stdout, "\nwrote %d playable clip(s) of %d to %s", len(written), len(rep.Clips), outDir)
			if n := len(rep.Clips) - len(written); n > 0 {
				fmt.Fprintf(e.stdout, "; %d sealed clip(s) not written: the bundle does not reveal their keys", n)
			}
			fmt.Fprintln(e.stdout)
		}
	}
	if !rep.Pinned {
		return fmt.Errorf("%s: %w", p, errNotPinned)
	}
	return nil
}

// writeClips writes what each clip of a verified bundle plays
// (evidence.OpenClip: a clip in the clear as it is, a sealed clip whose key
// the bundle reveals decrypted) to dir/<seq, 16 digits>.mp4, each a
// self-contained MP4 segment, and returns the files written. A sealed clip
// without its key is skipped. An existing file is not replaced.
func writeClips(b *evidence.Bundle, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out []string
	for i := range b.Clips {
		plain, err := evidence.OpenClip(b, i)
		if errors.Is(err, evidence.ErrSealed) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("clip %d: %w", i, err)
		}
		f := filepath.Join(dir, fmt.Sprintf("%016d.mp4", b.Clips[i].LeafIndex))
		if err := atomicfile.Create(f, plain, 0o600); err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

func newEvidenceValidatorsHashCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validators-hash GENESIS",
		Short: "Print the validator-set hash of a ledger's genesis file, the value to pin",
		Long: `Print the hash of the validator set in a CometBFT genesis file (a hub keeps
its ledger's in <data>/ledger/config/genesis.json): the value to pass to
"camchain evidence verify --validators-hash". A bundle whose blocks a later
set signed (the validators voted a change, docs/SPEC.md §3.6) carries the
set's history from the genesis, each change signed by the set before it, and
verifies against this hash too. Get the genesis file from a source you
trust, not from the party whose evidence you are checking.`,
		Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			g, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			h, err := evidence.GenesisValidatorsHash(g)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(e.stdout, "%X\n", h)
			return nil
		},
	}
}

// readBundle reads a bundle file, refusing one over the size limit before
// reading it.
func readBundle(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > evidence.MaxBundleBytes {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte bundle limit", path, fi.Size(), evidence.MaxBundleBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, evidence.MaxBundleBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > evidence.MaxBundleBytes {
		return nil, fmt.Errorf("%s is over the %d-byte bundle limit", path, evidence.MaxBundleBytes)
	}
	return data, nil
}

// parsePin reads a validator-set hash: 64 hex digits, 0x optional.
func parsePin(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) != evidence.HashSize {
		return nil, usageError{fmt.Errorf("--validators-hash %q: want %d hex digits", s, 2*evidence.HashSize)}
	}
	return b, nil
}

// parseTimeFlag reads a required RFC 3339 time.
func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, usageError{fmt.Errorf("--%s is required: an RFC 3339 time such as 2026-05-01T12:00:00Z", name)}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time such as 2026-05-01T12:00:00Z", name, v)}
	}
	return t, nil
}
