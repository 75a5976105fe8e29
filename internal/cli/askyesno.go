package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// maxAnswer bounds a yes/no answer read from the terminal.
const maxAnswer = 64

// askYesNo asks a yes/no question on the terminal (prompt on stderr, the
// answer from stdin): nil for "y" or "yes", no for anything else. Without
// a terminal it returns noTerminal, which says what a script passes
// instead.
func (e *env) askYesNo(prompt string, noTerminal, no error) error {
	f, ok := e.stdin.(*os.File)
	if _, term := e.terminal(); !ok || !term {
		return noTerminal
	}
	fmt.Fprint(e.stderr, prompt)
	answer, err := readLine(f, maxAnswer)
	if err != nil {
		return fmt.Errorf("read from terminal: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return no
}

// readLine reads one line byte by byte, so nothing after it is buffered
// away from the next reader of the terminal (the passphrase prompt).
func readLine(r io.Reader, limit int) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) <= limit {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return string(b), nil
			}
			b = append(b, one[0])
			continue
		}
		if err == io.EOF && len(b) > 0 {
			return string(b), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("answer longer than %d bytes", limit)
}
