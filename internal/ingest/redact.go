package ingest

import (
	"errors"
	"net/url"
	"strings"
)

// ErrBadURL: the source is not an rtsp:// or rtsps:// URL with a host.
var ErrBadURL = errors.New("ingest: not an rtsp:// URL with a host")

// Redact returns the camera URL with any password replaced by "xxxxx"
// (the user name kept, so that a wrong one can be spotted), for logs,
// status and errors. A string that does not parse is replaced whole.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable camera URL)"
	}
	return u.Redacted()
}

// parseURL checks a camera URL.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return nil, ErrBadURL
	}
	return u, nil
}

// redactedError is an error whose text has the camera's credentials
// removed; errors.Is and As still see the original.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// scrub removes every form of u's credentials from err's text.
func scrub(err error, u *url.URL) error {
	if err == nil || u.User == nil {
		return err
	}
	text := strings.ReplaceAll(err.Error(), u.String(), u.Redacted())
	secrets := []string{u.User.String()}
	if p, ok := u.User.Password(); ok && p != "" {
		secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
	}
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "xxxxx")
		}
	}
	return &redactedError{err: err, text: text}
}
