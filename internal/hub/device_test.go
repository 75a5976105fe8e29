package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth/signin"
)

// TestDeviceFlowOverHTTP: a browser asks for a code, the owner's wallet
// approves what the hub shows, the browser collects a cookie session once.
// A wrong, reused or foreign approval logs in nobody.
func TestDeviceFlowOverHTTP(t *testing.T) {
	b := startBrowserHub(t)
	owner := recordsTestKey(t)
	c, _ := api.NewClient(b.base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cid, _ := signin.NewClientID()
	ua := "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0"
	resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/device", body: `{"client":"` + cid.String() + `"}`,
		hdr: map[string]string{"Origin": b.base, "User-Agent": ua, "Sec-Fetch-Site": "same-origin"}})
	if resp.StatusCode != 200 {
		t.Fatalf("start: %d %v", resp.StatusCode, v)
	}
	var dc api.DeviceCode
	raw, _ := json.Marshal(v)
	json.Unmarshal(raw, &dc)
	if len(dc.Code) != 9 || dc.Interval != 2 {
		t.Fatalf("device code: %+v", dc)
	}

	info, err := c.DeviceInfo(ctx, strings.ToLower(dc.Code))
	if err != nil {
		t.Fatal(err)
	}
	if info.DeviceOrigin != b.base || info.DeviceUserAgent != ua || info.DeviceIP != "127.0.0.1" || info.Hub != b.base ||
		info.HubAddress != b.h.Address().Hex() {
		t.Errorf("what the approver is shown: %+v", info)
	}
	poll := func(cookie bool) (*http.Response, map[string]any) {
		body, _ := json.Marshal(api.DeviceTokenRequest{Request: dc.Request, Secret: dc.Secret, Cookie: cookie})
		return b.do(t, req{method: "POST", path: "/api/v1/auth/device/token", body: string(body), hdr: map[string]string{CSRFHeader: "1"}})
	}
	if _, v := poll(true); v["status"] != "pending" {
		t.Fatalf("poll before approval: %v", v)
	}

	// Approvals for another hub or another code are refused and leave the
	// request pending.
	other, _ := api.NewClient(b.base)
	for name, edit := range map[string]func(a *signin.Approval){
		"another hub":  func(a *signin.Approval) { a.Hub = "https://127.0.0.1:9" },
		"another code": func(a *signin.Approval) { a.Request[3] ^= 0x40 },
	} {
		a, err := info.Approval(owner.Address(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		edit(a)
		if _, err := other.ApproveDevice(ctx, a, owner.SignText); api.CodeOf(err) != api.ErrUnauthenticated {
			t.Errorf("approval for %s: %v, want unauthenticated", name, err)
		}
	}
	if _, err := c.DeviceInfo(ctx, "AAAA-AAAA"); api.CodeOf(err) != api.ErrNotFound {
		t.Errorf("a code never issued: %v", err)
	}

	a, err := info.Approval(owner.Address(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok, err := c.ApproveDevice(ctx, a, owner.SignText)
	if err != nil || !ok.Approved || ok.Address != owner.Address().Hex() {
		t.Fatalf("approve: %+v %v", ok, err)
	}
	if _, err := c.ApproveDevice(ctx, a, owner.SignText); api.CodeOf(err) != api.ErrConflict {
		t.Errorf("the approval replayed: %v, want conflict", err)
	}
	if _, err := c.DeviceInfo(ctx, dc.Code); api.CodeOf(err) != api.ErrConflict {
		t.Errorf("lookup of an approved code: %v, want conflict", err)
	}
	resp, v = poll(true)
	if resp.StatusCode != 200 || v["status"] != "approved" {
		t.Fatalf("collect: %d %v", resp.StatusCode, v)
	}
	ck := sessionCookieOf(t, resp)
	if s, _ := v["session"].(map[string]any); s["access_token"] != nil || s["address"] != owner.Address().Hex() || s["client"] != cid.String() {
		t.Errorf("collected session: %v", v)
	}
	if resp, v := b.do(t, req{method: "GET", path: "/api/v1/auth/session", cookie: ck.Value}); resp.StatusCode != 200 || v["address"] != owner.Address().Hex() {
		t.Errorf("the device's cookie: %d %v", resp.StatusCode, v)
	}
	if resp, v := poll(false); resp.StatusCode != 409 {
		t.Errorf("second collect: %d %v", resp.StatusCode, v)
	}
}
