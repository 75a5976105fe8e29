package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// EvidenceQuery selects the recordings of an evidence bundle: those whose
// start time is in [From, To), in Epoch (< 0: the camera's current epoch),
// on the chain of Stream ("main" or "sub"; empty: main).
type EvidenceQuery struct {
	From, To time.Time
	Epoch    int64
	Stream   string
}

// Evidence downloads the evidence bundle (docs/SPEC.md §10) of a camera's
// recordings: CBOR bytes, at most maxBytes of them. Errors are *Error as
// for every other call.
func (c *Client) Evidence(ctx context.Context, camera string, eq EvidenceQuery, maxBytes int64) ([]byte, error) {
	q := url.Values{"from": {eq.From.UTC().Format(time.RFC3339Nano)}, "to": {eq.To.UTC().Format(time.RFC3339Nano)}}
	if eq.Epoch >= 0 {
		q.Set("epoch", strconv.FormatInt(eq.Epoch, 10))
	}
	if eq.Stream != "" {
		q.Set("stream", eq.Stream)
	}
	u, err := c.url("/devices/" + url.PathEscape(camera) + "/evidence")
	if err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(ctx, req, "/devices/"); err != nil {
		return nil, err
	}
	// A bundle carries video: no overall client timeout, only ctx's.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the hub at %s (is camchaind running? use --hub or CAMCHAIN_HUB): %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			return nil, eb.Error
		}
		return nil, fmt.Errorf("hub answered %s for GET %s", resp.Status, u.Path)
	}
	data, err := readLarge(io.LimitReader(resp.Body, maxBytes+1), min(resp.ContentLength, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the bundle: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("the hub sent more than %d bytes", maxBytes)
	}
	return data, nil
}

// readLarge is io.ReadAll for bodies of tens of megabytes (an hour's
// bundle), where io.ReadAll's growth copies (and clears) the bytes read so
// far again at every step — 40 % of an export's client time (bench
// export.hour's profile). With the length the server announced (> 0) it
// reads into one slice of that size, and a body that ends before it is an
// error (a hub that fails midway aborts the response); otherwise into
// chunks that double from 1 MiB, copied once into a slice of the final
// size.
func readLarge(r io.Reader, length int64) ([]byte, error) {
	if length > 0 {
		buf := make([]byte, length)
		n, err := io.ReadFull(r, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("the answer ended after %d of its %d bytes: %w", n, length, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, err
		}
		rest, err := readLarge(r, 0)
		if err != nil || len(rest) == 0 {
			return buf, err
		}
		return append(buf, rest...), nil
	}
	var chunks [][]byte
	size, total := 1<<20, 0
	for {
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
		chunks = append(chunks, buf[:n])
		total += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(2*size, 64<<20)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}
