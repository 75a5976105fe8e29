// Package objstore is camchain's client of an S3-compatible object store: a
// bucket and a key prefix named by an s3://bucket/prefix URL, credentials
// from the usual sources, and the four operations the recording store needs
// (Put, Get, Delete, List), each bounded in time. It knows nothing of
// recordings: the store (internal/store) decides what the objects are and
// internal/store/layout names them.
//
// # Durability
//
// An S3 PUT that returns 200 has stored the object durably (that is the
// protocol's contract, and what every S3-compatible server promises); Put
// returns nil only after that answer, so a caller that waits for Put may
// acknowledge what it wrote.
//
// # Credentials and endpoint
//
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) from
// the environment; otherwise the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) under
// AWS_PROFILE (default "default"). Instance-metadata credentials are not
// tried: they would make the hub call a link-local address on every start.
// The endpoint is Config.Endpoint, else AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL, else s3.<region>.amazonaws.com; an http:// endpoint is
// plain HTTP (a local server), anything else is HTTPS. The region is
// AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. Buckets are
// addressed by path (endpoint/bucket/key), which every S3-compatible
// server supports.
package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Scheme is the URL scheme of a bucket location.
const Scheme = "s3://"

// Limits on one operation.
const (
	// OpTimeout bounds one Put, Get, Delete or one page of List, retries
	// included: an unreachable store fails an append within it, so the
	// hub refuses the record (the camera keeps it and retries) instead of
	// hanging the session.
	OpTimeout = 20 * time.Second
	// MaxObject bounds what Get reads into memory (a segment is at most
	// feedchain.MaxSegmentBytes; records and markers are small).
	MaxObject = 256 << 20
)

// ErrNotFound is an object the bucket does not have. It matches
// fs.ErrNotExist, so a caller treats a missing object as a missing file.
var ErrNotFound = fmt.Errorf("objstore: no such object (%w)", fs.ErrNotExist)

// Location is a bucket and a key prefix: s3://bucket/prefix.
type Location struct {
	Bucket string
	Prefix string // without leading or trailing slash; "" for the whole bucket
}

// IsURL reports whether s names a bucket location.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURL parses s3://bucket[/prefix].
func ParseURL(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("objstore: %q is not an %sbucket/prefix URL", s, Scheme)
	}
	b, p, _ := strings.Cut(rest, "/")
	if b == "" || strings.ContainsAny(b, " ?#\\") {
		return Location{}, fmt.Errorf("objstore: %q names no valid bucket", s)
	}
	p = strings.Trim(p, "/")
	for _, el := range strings.Split(p, "/") {
		if el == "." || el == ".." || (p != "" && el == "") {
			return Location{}, fmt.Errorf("objstore: prefix of %q has an empty, . or .. element", s)
		}
	}
	return Location{Bucket: b, Prefix: p}, nil
}

func (l Location) String() string {
	if l.Prefix == "" {
		return Scheme + l.Bucket
	}
	return Scheme + l.Bucket + "/" + l.Prefix
}

// Key is the object key of name (slash-separated, relative to the prefix).
func (l Location) Key(name string) string {
	if l.Prefix == "" {
		return name
	}
	return l.Prefix + "/" + name
}

// Sub is the location of a sub-prefix.
func (l Location) Sub(name string) Location {
	return Location{Bucket: l.Bucket, Prefix: strings.Trim(l.Key(name), "/")}
}

// Config says where the store is and how to reach it. The zero value of
// every field but Location takes its value from the environment.
type Config struct {
	Location Location
	Endpoint string // URL, e.g. http://127.0.0.1:9000; "" = from the environment
	Region   string
	// AccessKey and SecretKey, when set, are the credentials (a test's
	// server); otherwise they come from the usual sources.
	AccessKey, SecretKey string
	// CreateBucket creates the bucket when it does not exist (tests, a
	// fresh local server); otherwise a missing bucket is an error.
	CreateBucket bool
}

// Objstore is an open bucket location. Its methods are safe for concurrent
// use.
type Objstore struct {
	loc Location
	c   *minio.Client
}

// Open resolves credentials and the endpoint and checks that the bucket
// exists (creating it if CreateBucket says so).
func Open(ctx context.Context, cfg Config) (*Objstore, error) {
	region := cfg.Region
	if region == "" {
		region = firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	ep := cfg.Endpoint
	if ep == "" {
		ep = firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	if ep == "" {
		ep = "https://s3." + region + ".amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("objstore: endpoint %q: want http(s)://host[:port]", ep)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		if creds, err = resolveCredentials(); err != nil {
			return nil, err
		}
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "https", Region: region,
		BucketLookup: minio.BucketLookupPath, MaxRetries: 3})
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	b := &Objstore{loc: cfg.Location, c: c}
	octx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	ok, err := c.BucketExists(octx, cfg.Location.Bucket)
	if err != nil {
		return nil, fmt.Errorf("objstore: %s at %s: %w", cfg.Location, ep, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("objstore: %s at %s: the bucket does not exist", cfg.Location, ep)
		}
		if err := c.MakeBucket(octx, cfg.Location.Bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			return nil, fmt.Errorf("objstore: create %s at %s: %w", cfg.Location, ep, err)
		}
	}
	return b, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// resolveCredentials takes the environment's keys, else the shared
// credentials file's.
func resolveCredentials() (*credentials.Credentials, error) {
	id, secret := firstEnv("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), firstEnv("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if id != "" && secret != "" {
		return credentials.NewStaticV4(id, secret, os.Getenv("AWS_SESSION_TOKEN")), nil
	}
	file := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		home, err := os.UserHomeDir()
		if err == nil {
			file = filepath.Join(home, ".aws", "credentials")
		}
	}
	if file != "" {
		if _, err := os.Stat(file); err == nil {
			creds := credentials.NewFileAWSCredentials(file, os.Getenv("AWS_PROFILE"))
			if v, err := creds.Get(); err == nil && v.AccessKeyID != "" {
				return creds, nil
			}
		}
	}
	return nil, errors.New("objstore: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)")
}

// Location returns where the bucket is.
func (b *Objstore) Location() Location { return b.loc }

// Put stores data under name; nil means the store answered that it holds
// it.
func (b *Objstore) Put(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	_, err := b.c.PutObject(ctx, b.loc.Bucket, b.loc.Key(name), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true, SendContentMd5: true})
	if err != nil {
		return fmt.Errorf("objstore: put %s/%s: %w", b.loc, name, err)
	}
	return nil
}

// Get reads the object name (ErrNotFound if there is none).
func (b *Objstore) Get(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	o, err := b.c.GetObject(ctx, b.loc.Bucket, b.loc.Key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, b.wrap("get", name, err)
	}
	defer o.Close()
	data, err := io.ReadAll(io.LimitReader(o, MaxObject+1))
	if err != nil {
		return nil, b.wrap("get", name, err)
	}
	if len(data) > MaxObject {
		return nil, fmt.Errorf("objstore: get %s/%s: larger than %d bytes", b.loc, name, MaxObject)
	}
	return data, nil
}

// Delete removes the object name; deleting what is not there succeeds.
func (b *Objstore) Delete(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := b.c.RemoveObject(ctx, b.loc.Bucket, b.loc.Key(name), minio.RemoveObjectOptions{}); err != nil {
		if e := b.wrap("delete", name, err); errors.Is(e, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("objstore: delete %s/%s: %w", b.loc, name, err)
	}
	return nil
}

// List calls fn with the name (relative to the location's prefix) and size
// of every object under dir ("" for all), in key order, until fn returns
// false.
func (b *Objstore) List(ctx context.Context, dir string, fn func(name string, size int64) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pfx := b.loc.Key(dir)
	if dir != "" || b.loc.Prefix != "" {
		pfx = strings.TrimSuffix(pfx, "/") + "/"
	}
	strip := ""
	if b.loc.Prefix != "" {
		strip = b.loc.Prefix + "/"
	}
	for o := range b.c.ListObjects(ctx, b.loc.Bucket, minio.ListObjectsOptions{Prefix: pfx, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("objstore: list %s/%s: %w", b.loc, dir, o.Err)
		}
		if !fn(strings.TrimPrefix(o.Key, strip), o.Size) {
			return nil
		}
	}
	return ctx.Err()
}

func (b *Objstore) wrap(op, name string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("%w: %s/%s", ErrNotFound, b.loc, name)
	}
	return fmt.Errorf("objstore: %s %s/%s: %w", op, b.loc, name, err)
}
