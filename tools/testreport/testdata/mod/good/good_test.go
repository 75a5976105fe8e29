package good

import (
	"testing"
	"time"
)

func TestFast(t *testing.T) {}

func TestSlow(t *testing.T) { time.Sleep(300 * time.Millisecond) }
