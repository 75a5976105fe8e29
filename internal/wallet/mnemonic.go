package wallet

import (
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MnemonicWords is the only phrase length a camchain wallet accepts: 24 words
// carry 256 bits of entropy plus an 8-bit checksum (BIP-39).
const MnemonicWords = 24

const (
	entropyBits   = 256           // ENT: 24 words × 11 bits = 256 entropy + 8 checksum bits
	wordBits      = 11            // each word indexes a 2048-word list
	wordListSize  = 1 << wordBits // 2048
	maxShownWord  = 24            // longest unknown word an error repeats, in runes
	suggestMaxEdt = 2             // suggest a word at most this many edits away
)

// ErrChecksum means every word is in the list but the phrase's checksum does
// not match: one word is wrong (but happens to be a valid word) or two words
// were swapped.
var ErrChecksum = errors.New("checksum mismatch: a word is wrong or words are out of order")

// WordCountError reports a phrase with the wrong number of words.
type WordCountError struct {
	Got int // number of words found after normalisation
}

func (e *WordCountError) Error() string {
	return fmt.Sprintf("got %d words, want %d", e.Got, MnemonicWords)
}

// UnknownWordError reports a word that is not in the BIP-39 English list. It
// names only that word, never the rest of the phrase.
type UnknownWordError struct {
	Index      int    // 1-based position in the phrase, as the user numbered it
	Word       string // the normalised word as typed (shortened if very long)
	Suggestion string // closest list word, or "" if none is close
}

func (e *UnknownWordError) Error() string {
	msg := fmt.Sprintf("word %d %q is not in the BIP-39 English list", e.Index, e.Word)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg
}

// englishList is the BIP-39 English word list, the file of BIP-39 itself
// (SHA-256 2f5eed53…24dbda, checked by a test beside go-bip39's copy).
//
//go:embed english.txt
var englishList string

// english is the list as words, split on first use: a program that makes
// no mnemonic (the camera agent) never holds it.
var english = sync.OnceValue(func() []string {
	w := strings.Split(strings.TrimSuffix(englishList, "\n"), "\n")
	if len(w) != wordListSize {
		panic("wallet: BIP-39 English list does not have 2048 words")
	}
	return w
})

// englishIndex maps each BIP-39 English word to its 11-bit value. It is built
// once, on first use, from the list and never modified.
var englishIndex = sync.OnceValue(func() map[string]uint16 {
	m := make(map[string]uint16, wordListSize)
	for i, w := range english() {
		m[w] = uint16(i)
	}
	return m
})

// NewMnemonic returns a fresh 24-word phrase from 256 bits of crypto/rand.
func NewMnemonic() (string, error) {
	var entropy [entropyBits / 8]byte
	if _, err := rand.Read(entropy[:]); err != nil {
		return "", fmt.Errorf("read random entropy: %w", err)
	}
	return encodeMnemonic(entropy[:])
}

// ValidateMnemonic checks a phrase after normalising it (NFKD, lower case,
// any run of whitespace as one space). It returns a *WordCountError, an
// *UnknownWordError for the first word not in the list, or ErrChecksum.
func ValidateMnemonic(m string) error {
	words := splitMnemonic(m)
	if len(words) != MnemonicWords {
		return &WordCountError{Got: len(words)}
	}
	_, err := decodeWords(words)
	return err
}

// normalizeMnemonic returns the canonical form of a phrase: NFKD, lower case,
// words joined by single spaces. The BIP-39 seed is computed over this form.
func normalizeMnemonic(m string) string {
	return strings.Join(splitMnemonic(m), " ")
}

func splitMnemonic(m string) []string {
	return strings.Fields(strings.ToLower(norm.NFKD.String(m)))
}

// encodeMnemonic turns 16..32 bytes of entropy (a multiple of 4) into words:
// entropy ‖ first ENT/32 bits of SHA-256(entropy), read 11 bits at a time.
func encodeMnemonic(entropy []byte) (string, error) {
	n := len(entropy)
	if n < 16 || n > 32 || n%4 != 0 {
		return "", fmt.Errorf("entropy must be 16 to 32 bytes in steps of 4, got %d", n)
	}
	sum := sha256.Sum256(entropy)
	buf := make([]byte, n+1)
	copy(buf, entropy)
	buf[n] = sum[0] // only the first n/4 bits of this byte are read
	words := make([]string, (n*8+n/4)/wordBits)
	for i := range words {
		words[i] = english()[readBits(buf, i*wordBits)]
	}
	return strings.Join(words, " "), nil
}

// readBits returns the 11-bit big-endian value starting at bit offset off.
func readBits(buf []byte, off int) uint16 {
	var v uint16
	for j := range wordBits {
		bit := off + j
		v = v<<1 | uint16(buf[bit/8]>>(7-bit%8)&1)
	}
	return v
}

// decodeWords checks normalised words against the list and the checksum and
// returns the entropy. It accepts every BIP-39 length (12, 15, 18, 21, 24)
// so the reference vectors can exercise it; the public API enforces 24.
func decodeWords(words []string) ([]byte, error) {
	n := len(words)
	if n < 12 || n > 24 || n%3 != 0 {
		return nil, &WordCountError{Got: n}
	}
	totalBits := n * wordBits
	csBits := totalBits / 33
	entBytes := (totalBits - csBits) / 8
	buf := make([]byte, (totalBits+7)/8)
	for i, w := range words {
		idx, ok := englishIndex()[w]
		if !ok {
			return nil, &UnknownWordError{Index: i + 1, Word: shorten(w), Suggestion: suggest(w)}
		}
		for j := range wordBits {
			if idx>>(wordBits-1-j)&1 == 1 {
				bit := i*wordBits + j
				buf[bit/8] |= 1 << (7 - bit%8)
			}
		}
	}
	entropy := buf[:entBytes]
	sum := sha256.Sum256(entropy)
	mask := byte(0xff) << (8 - csBits)
	if buf[entBytes]&mask != sum[0]&mask {
		return nil, ErrChecksum
	}
	return entropy, nil
}

// shorten keeps an error message readable if someone pastes a long string.
func shorten(w string) string {
	if utf8.RuneCountInString(w) <= maxShownWord {
		return w
	}
	r := []rune(w)
	return string(r[:maxShownWord]) + "…"
}

// suggest returns the list word closest to w, if one is clearly close. BIP-39
// English words are unique in their first four letters, so a matching
// four-letter prefix wins; otherwise the unique word at edit distance ≤ 2.
func suggest(w string) string {
	if len(w) > 16 { // no list word is longer than 8 letters
		return ""
	}
	if len(w) >= 4 {
		for _, c := range english() {
			if c[:min(4, len(c))] == w[:4] {
				return c
			}
		}
	}
	best, bestD, ties := "", suggestMaxEdt+1, 0
	for _, c := range english() {
		d := editDistance(w, c)
		switch {
		case d < bestD:
			best, bestD, ties = c, d, 0
		case d == bestD:
			ties++
		}
	}
	if bestD > suggestMaxEdt || ties > 0 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance over bytes; list words are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
