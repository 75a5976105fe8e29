package hub

import "testing"

func TestParseRecordings(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		disk     bool
		bucket   string
		wantFail bool
	}{
		{in: nil, disk: true},
		{in: []string{"disk"}, disk: true},
		{in: []string{"s3://b/p"}, bucket: "s3://b/p"},
		{in: []string{"disk", "s3://b/p"}, disk: true, bucket: "s3://b/p"},
		{in: []string{"s3://b/p", "disk"}, disk: true, bucket: "s3://b/p"},
		{in: []string{"disk", "disk"}, wantFail: true},
		{in: []string{"s3://a", "s3://b"}, wantFail: true},
		{in: []string{"/var/recordings"}, wantFail: true},
		{in: []string{"s3://"}, wantFail: true},
	} {
		p, err := parseRecordings(tc.in)
		if (err != nil) != tc.wantFail {
			t.Errorf("parseRecordings(%q): %v, want failure %v", tc.in, err, tc.wantFail)
			continue
		}
		if tc.wantFail {
			continue
		}
		got := ""
		if p.bucket != nil {
			got = p.bucket.String()
		}
		if p.disk != tc.disk || got != tc.bucket {
			t.Errorf("parseRecordings(%q) = disk %v bucket %q", tc.in, p.disk, got)
		}
	}
}
