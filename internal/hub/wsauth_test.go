package hub

import (
	"testing"

	"github.com/coder/websocket"
)

func TestParseWSAuth(t *testing.T) {
	tk := `"` + "ab" + `"`
	for in, ok := range map[string]bool{
		`{"type":"auth","ticket":` + tk + `}`:               true,
		`{"type":"auth","cookie":true}`:                     true,
		`{"type":"auth"}`:                                   false,
		`{"type":"auth","ticket":` + tk + `,"cookie":true}`: false,
		`{"type":"auth","cookie":false}`:                    false,
		`{"type":"hello","cookie":true}`:                    false,
		`{"type":"auth","cookie":true,"token":"x"}`:         false,
		`{"type":"auth","cookie":true}{"type":"auth"}`:      false,
		`["auth"]`: false,
		``:         false,
	} {
		if _, err := parseWSAuth(websocket.MessageText, []byte(in)); (err == nil) != ok {
			t.Errorf("%s: %v, want ok %v", in, err, ok)
		}
	}
	if _, err := parseWSAuth(websocket.MessageBinary, []byte(`{"type":"auth","cookie":true}`)); err == nil {
		t.Error("a binary first message was accepted")
	}
}

// FuzzParseWSAuth: whatever is accepted is an auth message with exactly
// one credential.
func FuzzParseWSAuth(f *testing.F) {
	f.Add([]byte(`{"type":"auth","ticket":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}`))
	f.Add([]byte(`{"type":"auth","cookie":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseWSAuth(websocket.MessageText, b)
		if err != nil {
			return
		}
		if m.Type != "auth" || (m.Ticket != "") == m.Cookie || len(b) > wsAuthMaxBytes {
			t.Fatalf("accepted %q as %+v", b, m)
		}
	})
}
