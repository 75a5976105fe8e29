package objstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/testutil/s3server"
)

// Against a real versitygw, with credentials from the shared credentials
// file (the environment's are empty) and the endpoint from the
// environment.
func TestAgainstServer(t *testing.T) {
	srv := s3server.Start(t, "bkt")
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_PROFILE"} {
		t.Setenv(v, "")
	}
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+srv.AccessKey+"\naws_secret_access_key = "+srv.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	ctx := context.Background()
	loc, _ := objstore.ParseURL(srv.URL("pre/fix"))
	o, err := objstore.Open(ctx, objstore.Config{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "b/1"} {
		if err := o.Put(ctx, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := srv.Object("pre/fix/a/2"); !ok || string(got) != "va/2" {
		t.Fatalf("object on the server's disk: %q %v", got, ok)
	}
	if got, err := o.Get(ctx, "b/1"); err != nil || string(got) != "vb/1" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := o.Get(ctx, "b/2"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing object: %v", err)
	}
	var names []string
	if err := o.List(ctx, "a", func(n string, size int64) bool { names = append(names, n); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"a/1", "a/2"}) {
		t.Fatalf("List(a) = %q", names)
	}
	if err := o.Delete(ctx, "a/1"); err != nil {
		t.Fatal(err)
	}
	if err := o.Delete(ctx, "a/1"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	names = nil
	if err := o.List(ctx, "", func(n string, size int64) bool { names = append(names, n); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"a/2", "b/1"}) {
		t.Fatalf("List() = %q", names)
	}
	// A missing bucket is an error unless asked to create it.
	if _, err := objstore.Open(ctx, objstore.Config{Location: objstore.Location{Bucket: "nope-none"}}); err == nil {
		t.Fatal("Open of a missing bucket succeeded")
	}
}
