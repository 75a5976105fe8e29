package integrations

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// webhookSinkName names a webhook's outbox sink by its URL, so that the
// order of --webhook flags does not matter across restarts.
func webhookSinkName(u string) string {
	h := sha256.Sum256([]byte(u))
	return "webhook-" + hex.EncodeToString(h[:6])
}

// checkWebhookURL accepts http(s) URLs with a host.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--webhook %s: want an http:// or https:// URL", redactURL(raw))
	}
	return nil
}

type webhook struct {
	url    string
	client *http.Client
	s      *Service
}

func newWebhook(s *Service, u string) *webhook {
	return &webhook{url: u, s: s, client: &http.Client{
		Timeout: webhookTimeout,
		// A redirect is not followed: the signature names this URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send POSTs one event, signed for this attempt; a 2xx answer delivers it.
func (w *webhook) send(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "camchaind/"+w.s.cfg.Version)
	if err := signWebhook(req.Header, w.s.cfg.Key, w.s.cfg.WebhookSecret, w.url, time.Now().Unix(), id, body); err != nil {
		return err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token: never in a message
		}
		return fmt.Errorf("POST %s: %w", redactURL(w.url), err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: %s", redactURL(w.url), resp.Status)
	}
	return nil
}
