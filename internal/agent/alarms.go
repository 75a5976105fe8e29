package agent

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/link"
)

// alarmLog keeps every alarm the camera raises in alarms.jsonl (append,
// fsync) and how many of them reached the hub in alarms.sent, so alarms
// raised while disconnected are delivered after the next connect.
type alarmLog struct {
	dir  string
	log  *slog.Logger
	mu   sync.Mutex
	all  []link.Alarm
	sent int
}

func openAlarms(dir string, log *slog.Logger) (*alarmLog, error) {
	a := &alarmLog{dir: dir, log: log}
	f, err := os.Open(filepath.Join(dir, "alarms.jsonl"))
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var al link.Alarm
			if json.Unmarshal(sc.Bytes(), &al) == nil {
				a.all = append(a.all, al)
			}
		}
		f.Close()
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "alarms.sent")); err == nil {
		a.sent, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	a.sent = min(max(a.sent, 0), len(a.all))
	return a, nil
}

// Raise implements link.Alarms.
func (a *alarmLog) Raise(kind audit.Alarm, detail string) {
	al := link.Alarm{Kind: kind, Detail: detail, At: time.Now().Unix()}
	if len(al.Detail) > link.MaxText {
		al.Detail = al.Detail[:link.MaxText]
	}
	a.log.Error("ALARM", "kind", kind, "detail", detail)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, al)
	b, _ := json.Marshal(al)
	f, err := os.OpenFile(filepath.Join(a.dir, "alarms.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		a.log.Error("cannot persist alarm", "err", err)
		return
	}
	defer f.Close()
	f.Write(append(b, '\n'))
	f.Sync()
}

// Pending implements link.Alarms.
func (a *alarmLog) Pending() []link.Alarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]link.Alarm(nil), a.all[a.sent:]...)
}

// Sent implements link.Alarms.
func (a *alarmLog) Sent(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = min(a.sent+n, len(a.all))
	atomicfile.Write(filepath.Join(a.dir, "alarms.sent"), []byte(strconv.Itoa(a.sent)+"\n"), 0o600)
}

// All returns every alarm raised, oldest first.
func (a *alarmLog) All() []link.Alarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]link.Alarm(nil), a.all...)
}
