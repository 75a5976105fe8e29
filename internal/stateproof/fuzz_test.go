package stateproof

import (
	"bytes"
	"testing"
)

// FuzzVerify: Verify never panics, and it never accepts a false statement
// about the vector state: whatever it accepts against the vector state's
// app hash is what that state holds (the value at the key, or nothing).
// Seeds: testdata/fuzz/FuzzVerify (the vector cases, by the generator).
func FuzzVerify(f *testing.F) {
	_, root := buildVectorTrie(f)
	vectorApp := AppHash(root)
	truth := map[string][]byte{}
	for _, kv := range vectorState {
		truth[kv[0]] = []byte(kv[1])
	}
	f.Fuzz(func(t *testing.T, appHash, key, value []byte, absent bool, rootB, nodes []byte) {
		p := &Proof{Key: key, Value: value, Absent: absent}
		copy(p.Root[:], rootB)
		for len(nodes) >= 2 {
			n := int(nodes[0])<<8 | int(nodes[1])
			nodes = nodes[2:]
			if n > len(nodes) {
				n = len(nodes)
			}
			p.Nodes = append(p.Nodes, nodes[:n])
			nodes = nodes[n:]
		}
		if err := Verify(appHash, p); err != nil || !bytes.Equal(appHash, vectorApp) {
			return
		}
		v, present := truth[string(key)]
		switch {
		case absent && present:
			t.Fatalf("accepted the absence of %q, which holds %q", key, v)
		case !absent && !present:
			t.Fatalf("accepted %q = %q, which is absent", key, value)
		case !absent && !bytes.Equal(v, value):
			t.Fatalf("accepted %q = %q, which holds %q", key, value, v)
		}
	})
}
