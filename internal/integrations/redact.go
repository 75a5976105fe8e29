package integrations

import (
	"net/url"
	"strings"
)

// redactURL shows where a URL points and nothing that could be a secret:
// scheme, user name and host; a password becomes "xxxxx", a path "/…", and
// the query and fragment go (a webhook's path or query often holds its
// token: Home Assistant's webhook id is one).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += url.PathEscape(u.User.Username())
		if _, ok := u.User.Password(); ok {
			out += ":xxxxx"
		}
		out += "@"
	}
	out += u.Host
	if strings.Trim(u.EscapedPath(), "/") != "" {
		out += "/…"
	}
	return out
}

// scrub removes every secret in secrets from s (an error message from a
// library that might echo what it was given).
func scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "xxxxx")
		}
	}
	return s
}
