package bad

import "testing"

func TestPasses(t *testing.T) {}

func TestFails(t *testing.T) {
	t.Log("the detail a reader needs")
	t.Fatal("boom")
}
