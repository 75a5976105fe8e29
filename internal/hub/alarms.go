package hub

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

// The alarm log, <data>/alarms/ (docs/SPEC.md §4.2): every security alarm
// (audit.Kind.IsAlarm) is appended to alarms.log and fsynced before the hub
// acknowledges it, then filed on the ledger in order and retried until
// committed; alarms.committed says how many entries reached the ledger. It
// is never dropped, and no flood of ordinary events can crowd it out: those
// take another path (the aggregated refusal records).
//
//	alarms.log        "camchain-hub-alarms 1 <generation>\n", then one JSON
//	                  alarmEntry per line
//	alarms.committed  "<generation> <count>\n", written atomically
//
// A torn last line (a crash during an append, before its fsync returned,
// so before it was acknowledged) is cut off on open. When every entry is
// committed and the log is over compactAt, it is replaced by an empty one
// with a new generation; a committed count of another generation counts
// for nothing, so a crash between the two files loses nothing.

const (
	alarmLogHeader   = "camchain-hub-alarms 1"
	maxAlarmLine     = 8 << 10 // an entry is at most ~1.5 KiB
	alarmCompactAt   = 1 << 20 // bytes
	alarmDedupWindow = 256     // recent entries an identical resend is checked against
	maxAlarmBatch    = 1000    // alarms one summary record stands for
)

// alarmEntry is one alarm as it waits for the ledger.
type alarmEntry struct {
	Camera string `json:"camera,omitempty"`
	// Subject is the principal a hub alarm concerns (a client's address).
	Subject string     `json:"subject,omitempty"`
	Kind    audit.Kind `json:"kind"`
	Detail  string     `json:"detail"`
	At      int64      `json:"at"`
	// Nonce is drawn when the alarm is logged, so filing it again after a
	// crash reuses it: a copy that already landed comes back as `replay`.
	Nonce uint64 `json:"nonce"`
}

type alarmLog struct {
	dir string

	mu        sync.Mutex
	f         *os.File
	size      int64
	gen       string
	entries   []alarmEntry // every entry of this generation
	committed int
	wake      chan struct{}
}

func (l *alarmLog) logPath() string       { return filepath.Join(l.dir, "alarms.log") }
func (l *alarmLog) committedPath() string { return filepath.Join(l.dir, "alarms.committed") }

// openAlarmLog opens (or creates) the log in dir.
func openAlarmLog(dir string) (*alarmLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &alarmLog{dir: dir, wake: make(chan struct{}, 1)}
	b, err := os.ReadFile(l.logPath())
	if errors.Is(err, os.ErrNotExist) {
		if err := l.reset(); err != nil {
			return nil, err
		}
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	good, err := l.parse(b)
	if err != nil {
		return nil, err
	}
	if l.f, err = os.OpenFile(l.logPath(), os.O_WRONLY, 0o600); err != nil {
		return nil, err
	}
	if good < len(b) { // cut the torn tail so appends continue on a line boundary
		if err := l.f.Truncate(int64(good)); err != nil {
			l.f.Close()
			return nil, err
		}
		if err := l.f.Sync(); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	if _, err := l.f.Seek(int64(good), io.SeekStart); err != nil {
		l.f.Close()
		return nil, err
	}
	l.size = int64(good)
	if c, err := os.ReadFile(l.committedPath()); err == nil {
		f := strings.Fields(string(c))
		if len(f) == 2 && f[0] == l.gen {
			n, _ := strconv.Atoi(f[1])
			l.committed = min(max(n, 0), len(l.entries))
			// A count beyond the log (which fsync makes impossible, short
			// of a damaged disk) must not cover the alarms appended next.
			if n != l.committed {
				if err := l.writeCommitted(); err != nil {
					l.f.Close()
					return nil, err
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		l.f.Close()
		return nil, err
	}
	return l, nil
}

// parse reads the header and the whole lines that decode, and returns how
// many bytes they span.
func (l *alarmLog) parse(b []byte) (int, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return 0, fmt.Errorf("%s: no header", l.logPath())
	}
	h := strings.Fields(string(b[:nl]))
	if len(h) != 3 || h[0]+" "+h[1] != alarmLogHeader {
		return 0, fmt.Errorf("%s: not a camchain alarm log (version 1)", l.logPath())
	}
	l.gen = h[2]
	good := nl + 1
	sc := bufio.NewScanner(bytes.NewReader(b[good:]))
	sc.Buffer(make([]byte, 0, 4096), maxAlarmLine)
	for sc.Scan() {
		line := sc.Bytes()
		if good+len(line) >= len(b) { // no newline after it: torn
			break
		}
		var e alarmEntry
		if err := json.Unmarshal(line, &e); err != nil {
			break
		}
		l.entries = append(l.entries, e)
		good += len(line) + 1
	}
	return good, nil
}

// reset starts an empty log of a new generation (on creation, and to
// compact a fully committed one).
func (l *alarmLog) reset() error {
	var g [8]byte
	if _, err := rand.Read(g[:]); err != nil {
		return err
	}
	gen := hex.EncodeToString(g[:])
	head := []byte(alarmLogHeader + " " + gen + "\n")
	if err := atomicfile.Write(l.logPath(), head, 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(l.logPath(), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.gen, l.size, l.entries, l.committed = f, gen, int64(len(head)), nil, 0
	return nil
}

// Append persists an alarm (write + fsync) and returns once it is on disk.
// A resend identical to a recent entry (the camera repeats alarms it saw no
// acknowledgement for) is not logged twice.
func (l *alarmLog) Append(cam keys.Address, kind audit.Kind, detail string, at time.Time) error {
	return l.AppendAbout(cam, keys.Address{}, kind, detail, at)
}

// AppendAbout is Append for an alarm about subject (a principal).
func (l *alarmLog) AppendAbout(cam, subject keys.Address, kind audit.Kind, detail string, at time.Time) error {
	e := alarmEntry{Kind: kind, Detail: detail, At: at.Unix()}
	if cam != (keys.Address{}) {
		e.Camera = cam.Hex()
	}
	if subject != (keys.Address{}) {
		e.Subject = subject.Hex()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := max(0, len(l.entries)-alarmDedupWindow); i < len(l.entries); i++ {
		p := l.entries[i]
		if p.Camera == e.Camera && p.Subject == e.Subject && p.Kind == e.Kind && p.Detail == e.Detail && p.At == e.At {
			return nil
		}
	}
	var n [8]byte
	if _, err := rand.Read(n[:]); err != nil {
		return err
	}
	e.Nonce = binary.BigEndian.Uint64(n[:])
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("alarm log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("alarm log: %w", err)
	}
	l.size += int64(len(line))
	l.entries = append(l.entries, e)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// next returns the oldest alarm not yet committed.
// next returns the oldest alarm not yet committed, and how many pending
// entries it stands for: a run of consecutive alarms of one camera and kind
// (a flood of them) is filed as one summary record, so the ledger grows by
// about one record per filing round however fast alarms come, and every
// one of them is still counted.
func (l *alarmLog) next() (alarmEntry, int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.committed >= len(l.entries) {
		return alarmEntry{}, 0, false
	}
	first := l.entries[l.committed]
	n := 1
	for i := l.committed + 1; i < len(l.entries) && n < maxAlarmBatch; i++ {
		if e := l.entries[i]; e.Camera != first.Camera || e.Subject != first.Subject || e.Kind != first.Kind {
			break
		}
		n++
	}
	if n > 1 {
		last := l.entries[l.committed+n-1]
		first.Detail = fmt.Sprintf("%d %s alarms, %s to %s; the first: %s", n, first.Kind,
			time.Unix(first.At, 0).UTC().Format(time.RFC3339), time.Unix(last.At, 0).UTC().Format(time.RFC3339), first.Detail)
	}
	return first, n, true
}

// done records that the oldest n pending alarms are on the ledger.
func (l *alarmLog) done(n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(n, len(l.entries)-l.committed)
	l.committed += n
	if err := l.writeCommitted(); err != nil {
		l.committed -= n
		return err
	}
	if l.committed == len(l.entries) && l.size > alarmCompactAt {
		return l.reset()
	}
	return nil
}

func (l *alarmLog) writeCommitted() error {
	return atomicfile.Write(l.committedPath(), fmt.Appendf(nil, "%s %d\n", l.gen, l.committed), 0o600)
}

// Pending returns how many alarms wait for the ledger.
func (l *alarmLog) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries) - l.committed
}

func (l *alarmLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
