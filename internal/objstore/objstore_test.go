package objstore

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in     string
		bucket string
		prefix string
		ok     bool
	}{
		{"s3://b", "b", "", true},
		{"s3://b/", "b", "", true},
		{"s3://b/p/q/", "b", "p/q", true},
		{"s3://b/p", "b", "p", true},
		{"s3://", "", "", false},
		{"s3:///p", "", "", false},
		{"s3://b/p//q", "", "", false},
		{"s3://b/../q", "", "", false},
		{"s3://b/./q", "", "", false},
		{"http://b/p", "", "", false},
		{"/data/recordings", "", "", false},
	} {
		loc, err := ParseURL(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseURL(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (loc.Bucket != tc.bucket || loc.Prefix != tc.prefix) {
			t.Errorf("ParseURL(%q) = %+v", tc.in, loc)
		}
		if tc.ok {
			if again, err := ParseURL(loc.String()); err != nil || again != loc {
				t.Errorf("ParseURL(%q.String()) = %+v, %v", tc.in, again, err)
			}
		}
	}
	if k := (Location{Bucket: "b", Prefix: "p"}).Key("x/y"); k != "p/x/y" {
		t.Errorf("Key = %q", k)
	}
	if k := (Location{Bucket: "b"}).Key("x/y"); k != "x/y" {
		t.Errorf("Key without prefix = %q", k)
	}
}

func TestNotFoundIsNotExist(t *testing.T) {
	if !errors.Is(ErrNotFound, fs.ErrNotExist) {
		t.Fatal("ErrNotFound does not match fs.ErrNotExist")
	}
}

func TestNoCredentials(t *testing.T) {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	_, err := Open(context.Background(), Config{Location: Location{Bucket: "b"}, Endpoint: "http://127.0.0.1:1"})
	if err == nil {
		t.Fatal("Open without credentials succeeded")
	}
}

// Whatever ParseURL accepts prints back to a URL that parses to the same
// location, names a bucket, and has no empty, . or .. prefix element.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b", "s3://bucket/prefix/a", "s3://b//x", "s3://b/../x", "s3://", "http://b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			return
		}
		if loc.Bucket == "" {
			t.Fatalf("%q: empty bucket", s)
		}
		again, err := ParseURL(loc.String())
		if err != nil || again != loc {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, loc, loc.String(), again, err)
		}
		if loc.Prefix != "" {
			for _, el := range strings.Split(loc.Prefix, "/") {
				if el == "" || el == "." || el == ".." {
					t.Fatalf("%q: prefix element %q", s, el)
				}
			}
		}
	})
}
