package cli

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/verify"
)

// verifyProgressEvery is how often hashing reports its progress.
const verifyProgressEvery = 2 * time.Second

// hashAll hashes every job's clips, with progress on stderr when it takes
// a while.
func (e *env) hashAll(jobs []*verifyJob) error {
	var all []verify.Clip
	for _, j := range jobs {
		all = append(all, j.input.Clips...)
	}
	var total int64
	for _, c := range all {
		if fi, err := os.Stat(c.Path); err == nil {
			total += fi.Size()
		}
	}
	start := time.Now()
	var mu sync.Mutex
	last := start
	shown := false
	err := verify.HashClips(context.Background(), all, 0, func(p verify.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= verifyProgressEvery {
			last, shown = now, true
			fmt.Fprintf(e.stderr, "verify: hashed %d of %d clips, %d of %d MB (%.0f MB/s)\n",
				p.Done, p.Total, p.Bytes>>20, total>>20, float64(p.Bytes)/1e6/now.Sub(start).Seconds())
		}
	})
	if err != nil {
		return err
	}
	if shown {
		fmt.Fprintf(e.stderr, "verify: hashed %d clips in %s\n", len(all), time.Since(start).Round(100*time.Millisecond))
	}
	i := 0
	for _, j := range jobs {
		n := len(j.input.Clips)
		j.input.Clips = all[i : i+n]
		i += n
	}
	return nil
}
