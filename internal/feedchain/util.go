package feedchain

import (
	"crypto/sha256"
	"encoding/binary"
)

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func sha256sum(b []byte) Hash { return sha256.Sum256(b) }
