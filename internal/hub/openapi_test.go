package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

// The tests in this file keep docs/openapi.yaml honest: it lists exactly the
// hub's routes, its schemas mirror the Go wire types field for field, and a
// real hub's answers are statuses and bodies the file declares.

// openAPI is the part of an OpenAPI 3.1 document these tests read.
type openAPI struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas    map[string]*oaSchema   `yaml:"schemas"`
		Responses  map[string]*oaResponse `yaml:"responses"`
		Parameters map[string]*oaParam    `yaml:"parameters"`
	} `yaml:"components"`
}

type oaOperation struct {
	Summary     string                 `yaml:"summary"`
	Description string                 `yaml:"description"`
	Parameters  []*oaParam             `yaml:"parameters"`
	RequestBody *oaResponse            `yaml:"requestBody"` // same shape: content → schema
	Responses   map[string]*oaResponse `yaml:"responses"`
	Security    []map[string][]string  `yaml:"security"`
}

type oaParam struct {
	Ref      string    `yaml:"$ref"`
	Name     string    `yaml:"name"`
	In       string    `yaml:"in"`
	Required bool      `yaml:"required"`
	Schema   *oaSchema `yaml:"schema"`
}

type oaResponse struct {
	Ref     string `yaml:"$ref"`
	Content map[string]struct {
		Schema *oaSchema `yaml:"schema"`
	} `yaml:"content"`
}

type oaSchema struct {
	Ref                  string               `yaml:"$ref"`
	Type                 string               `yaml:"type"`
	Format               string               `yaml:"format"`
	Pattern              string               `yaml:"pattern"`
	Enum                 []string             `yaml:"enum"`
	Required             []string             `yaml:"required"`
	Properties           map[string]*oaSchema `yaml:"properties"`
	AdditionalProperties *bool                `yaml:"additionalProperties"`
	Items                *oaSchema            `yaml:"items"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI reads docs/openapi.yaml from the module root, found by
// walking up from the package directory to go.mod.
func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("docs/openapi.yaml is OpenAPI %q, want 3.1.x", doc.OpenAPI)
	}
	return &doc
}

// operations returns every documented operation keyed "METHOD /path".
func (d *openAPI) operations(t *testing.T) map[string]*oaOperation {
	t.Helper()
	ops := map[string]*oaOperation{}
	for path, item := range d.Paths {
		for key, node := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			var op oaOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = &op
		}
	}
	return ops
}

// schema resolves s's $ref chain within components.schemas.
func (d *openAPI) schema(t *testing.T, s *oaSchema) *oaSchema {
	t.Helper()
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok || d.Components.Schemas[name] == nil {
			t.Fatalf("unresolvable schema $ref %q", s.Ref)
		}
		s = d.Components.Schemas[name]
	}
	return s
}

func (d *openAPI) param(t *testing.T, p *oaParam) *oaParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	if !ok || d.Components.Parameters[name] == nil {
		t.Fatalf("unresolvable parameter $ref %q", p.Ref)
	}
	return d.Components.Parameters[name]
}

// responseSchema returns the application/json schema of op's response for
// status, and whether op declares that status at all.
func (d *openAPI) responseSchema(t *testing.T, op *oaOperation, status int) (*oaSchema, bool) {
	t.Helper()
	r, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		return nil, false
	}
	if r.Ref != "" {
		name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
		if !ok || d.Components.Responses[name] == nil {
			t.Fatalf("unresolvable response $ref %q", r.Ref)
		}
		r = d.Components.Responses[name]
	}
	c, ok := r.Content["application/json"]
	if !ok || c.Schema == nil {
		t.Fatalf("response %d has no application/json schema", status)
	}
	return c.Schema, true
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)

	served := map[string]bool{}
	for _, r := range (&Hub{}).routeTable() {
		served[r.method+" "+api.Prefix+r.path] = true
	}
	var missing, extra []string
	for k := range served {
		if ops[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range ops {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range missing {
		t.Errorf("route %s is served but not in docs/openapi.yaml", k)
	}
	for _, k := range extra {
		t.Errorf("docs/openapi.yaml documents %s, which the hub does not serve", k)
	}

	// Every operation is documented enough for a client to use it.
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for k, op := range ops {
		if op.Summary == "" || op.Description == "" {
			t.Errorf("%s: no summary or description", k)
		}
		if _, ok := op.Responses["200"]; !ok {
			t.Errorf("%s: no 200 response", k)
		}
		if _, ok := op.Responses["500"]; !ok {
			t.Errorf("%s: no 500 response (every handler can fail internally)", k)
		}
		declared := map[string]bool{}
		for _, p := range op.Parameters {
			p = doc.param(t, p)
			if p.In == "path" {
				if !p.Required {
					t.Errorf("%s: path parameter %q is not required", k, p.Name)
				}
				declared[p.Name] = true
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(k, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", k, m[1])
			}
			delete(declared, m[1])
		}
		for name := range declared {
			t.Errorf("%s: declares path parameter %q that is not in the path", k, name)
		}
		if strings.HasPrefix(k, "POST ") && (op.RequestBody == nil || op.RequestBody.Content["application/json"].Schema == nil) {
			t.Errorf("%s: no application/json request body", k)
		}
	}
}

// wireTypes maps each component schema to the Go type it mirrors.
var wireTypes = map[string]reflect.Type{
	"Status":               reflect.TypeFor[api.Status](),
	"ValidatorSet":         reflect.TypeFor[api.ValidatorSet](),
	"Validator":            reflect.TypeFor[api.Validator](),
	"ValidatorProposal":    reflect.TypeFor[api.ValidatorProposal](),
	"Device":               reflect.TypeFor[api.Device](),
	"CheckpointsSummary":   reflect.TypeFor[api.CheckpointsSummary](),
	"Grant":                reflect.TypeFor[api.Grant](),
	"Checkpoint":           reflect.TypeFor[api.Checkpoint](),
	"Envelope":             reflect.TypeFor[api.Envelope](),
	"Event":                reflect.TypeFor[api.Event](),
	"SubmitRequest":        reflect.TypeFor[api.SubmitRequest](),
	"TxResult":             reflect.TypeFor[api.TxResult](),
	"NonceUse":             reflect.TypeFor[api.NonceUse](),
	"Error":                reflect.TypeFor[api.Error](),
	"ErrorBody":            reflect.TypeFor[api.ErrorBody](),
	"GrantList":            reflect.TypeFor[api.List[api.Grant]](),
	"DeviceList":           reflect.TypeFor[api.List[api.Device]](),
	"CheckpointList":       reflect.TypeFor[api.List[api.Checkpoint]](),
	"EventList":            reflect.TypeFor[api.List[api.Event]](),
	"LinkInfo":             reflect.TypeFor[api.LinkInfo](),
	"PairRequest":          reflect.TypeFor[api.PairRequest](),
	"PairResult":           reflect.TypeFor[api.PairResult](),
	"Recording":            reflect.TypeFor[api.Recording](),
	"Recordings":           reflect.TypeFor[api.Recordings](),
	"RecordList":           reflect.TypeFor[api.RecordList](),
	"Timeline":             reflect.TypeFor[api.Timeline](),
	"TimelineSpan":         reflect.TypeFor[api.TimelineSpan](),
	"TimelineGap":          reflect.TypeFor[api.TimelineGap](),
	"TimelineCheckpoint":   reflect.TypeFor[api.TimelineCheckpoint](),
	"TimelineAlarm":        reflect.TypeFor[api.TimelineAlarm](),
	"Nonce":                reflect.TypeFor[api.Nonce](),
	"LoginRequest":         reflect.TypeFor[api.LoginRequest](),
	"RenewRequest":         reflect.TypeFor[api.RenewRequest](),
	"Session":              reflect.TypeFor[api.Session](),
	"Whoami":               reflect.TypeFor[api.Whoami](),
	"ClientInfo":           reflect.TypeFor[api.ClientInfo](),
	"ClientList":           reflect.TypeFor[api.List[api.ClientInfo]](),
	"RevokedClient":        reflect.TypeFor[api.RevokedClient](),
	"Empty":                reflect.TypeFor[api.Empty](),
	"LoginProof":           reflect.TypeFor[api.LoginProof](),
	"LoginBatch":           reflect.TypeFor[api.LoginBatch](),
	"CameraStatus":         reflect.TypeFor[api.CameraStatus](),
	"AlarmSummary":         reflect.TypeFor[api.AlarmSummary](),
	"PairRelayRequest":     reflect.TypeFor[api.PairRelayRequest](),
	"PairRelayResult":      reflect.TypeFor[api.PairRelayResult](),
	"Ticket":               reflect.TypeFor[api.Ticket](),
	"WSAuth":               reflect.TypeFor[api.WSAuth](),
	"WSAuthenticated":      reflect.TypeFor[api.WSAuthenticated](),
	"PlayStart":            reflect.TypeFor[api.PlayStart](),
	"PlayCodec":            reflect.TypeFor[api.PlayCodec](),
	"LoggedOut":            reflect.TypeFor[api.LoggedOut](),
	"DeviceStartRequest":   reflect.TypeFor[api.DeviceStartRequest](),
	"DeviceCode":           reflect.TypeFor[api.DeviceCode](),
	"DeviceInfo":           reflect.TypeFor[api.DeviceInfo](),
	"DeviceApproveRequest": reflect.TypeFor[api.DeviceApproveRequest](),
	"DeviceApproved":       reflect.TypeFor[api.DeviceApproved](),
	"DeviceTokenRequest":   reflect.TypeFor[api.DeviceTokenRequest](),
	"DeviceToken":          reflect.TypeFor[api.DeviceToken](),
	"ApprovedClient":       reflect.TypeFor[api.ApprovedClient](),
}

// schemaNameOf is the component name of a struct type in wireTypes.
func schemaNameOf(rt reflect.Type) string {
	for name, t := range wireTypes {
		if t == rt {
			return name
		}
	}
	return ""
}

type jsonField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

func jsonFields(rt reflect.Type) []jsonField {
	var out []jsonField
	for f := range rt.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"), typ: f.Type})
	}
	return out
}

func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, rt := range wireTypes {
		t.Run(name, func(t *testing.T) {
			s := doc.Components.Schemas[name]
			if s == nil {
				t.Fatalf("components.schemas has no %s (for %s)", name, rt)
			}
			if s.Type != "object" {
				t.Errorf("type %q, want object", s.Type)
			}
			if s.AdditionalProperties == nil || *s.AdditionalProperties {
				t.Errorf("additionalProperties must be false: the Go type has a fixed set of fields")
			}
			fields := jsonFields(rt)
			var goNames, goRequired []string
			for _, f := range fields {
				goNames = append(goNames, f.name)
				if !f.omitempty {
					goRequired = append(goRequired, f.name)
				}
			}
			var docNames []string
			for p := range s.Properties {
				docNames = append(docNames, p)
			}
			sort.Strings(goNames)
			sort.Strings(goRequired)
			sort.Strings(docNames)
			docRequired := slices.Sorted(slices.Values(s.Required))
			if !slices.Equal(goNames, docNames) {
				t.Errorf("properties\n doc %v\n Go  %v", docNames, goNames)
			}
			if !slices.Equal(goRequired, docRequired) {
				t.Errorf("required (the fields without omitempty)\n doc %v\n Go  %v", docRequired, goRequired)
			}
			for _, f := range fields {
				p := s.Properties[f.name]
				if p == nil {
					continue
				}
				checkSchemaType(t, doc, name+"."+f.name, p, f.typ)
			}
		})
	}
}

// checkSchemaType checks that schema s can hold the JSON form of Go type rt.
func checkSchemaType(t *testing.T, doc *openAPI, where string, s *oaSchema, rt reflect.Type) {
	t.Helper()
	if rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	if rt.Kind() == reflect.Struct {
		want := "#/components/schemas/" + schemaNameOf(rt)
		if s.Ref != want {
			t.Errorf("%s: $ref %q, want %q", where, s.Ref, want)
		}
		return
	}
	r := doc.schema(t, s)
	var want string
	switch rt.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		want = "integer"
		if wantFmt := "uint" + strconv.Itoa(rt.Bits()); r.Format != wantFmt {
			t.Errorf("%s: format %q, want %q", where, r.Format, wantFmt)
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		want = "integer"
	case reflect.Float32, reflect.Float64:
		want = "number"
		if wantFmt := map[int]string{32: "float", 64: "double"}[rt.Bits()]; r.Format != wantFmt {
			t.Errorf("%s: format %q, want %q", where, r.Format, wantFmt)
		}
	case reflect.Slice:
		want = "array"
		if r.Items == nil {
			t.Errorf("%s: array without items", where)
		} else {
			checkSchemaType(t, doc, where+"[]", r.Items, rt.Elem())
		}
	default:
		t.Fatalf("%s: no JSON mapping for Go kind %s", where, rt.Kind())
	}
	if r.Type != want {
		t.Errorf("%s: type %q, want %q (Go %s)", where, r.Type, want, rt)
	}
}

// validate checks a decoded JSON value against schema s: types, required
// and undeclared members, array items, patterns, enums and date-times.
func (d *openAPI) validate(t *testing.T, where string, v any, s *oaSchema) {
	t.Helper()
	s = d.schema(t, s)
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", where, v)
			return
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				t.Errorf("%s: required member %q missing", where, r)
			}
		}
		for k, mv := range m {
			p, ok := s.Properties[k]
			if !ok {
				t.Errorf("%s: member %q is not declared", where, k)
				continue
			}
			d.validate(t, where+"."+k, mv, p)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %T, want an array", where, v)
			return
		}
		for i, e := range a {
			d.validate(t, fmt.Sprintf("%s[%d]", where, i), e, s.Items)
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			t.Errorf("%s: %T, want an integer", where, v)
			return
		}
		if _, err := strconv.ParseUint(n.String(), 10, 64); err != nil {
			t.Errorf("%s: %s is not a non-negative integer", where, n)
		}
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			t.Errorf("%s: %T, want a number", where, v)
			return
		}
		if f, err := n.Float64(); err != nil || f < 0 {
			t.Errorf("%s: %s is not a non-negative number", where, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			t.Errorf("%s: %T, want a boolean", where, v)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			t.Errorf("%s: %T, want a string", where, v)
			return
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			t.Errorf("%s: %q does not match %s", where, str, s.Pattern)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			t.Errorf("%s: %q is not one of %v", where, str, s.Enum)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				t.Errorf("%s: %q is not an RFC 3339 date-time", where, str)
			}
		}
	default:
		t.Fatalf("%s: schema type %q not handled by the test", where, s.Type)
	}
}

// TestAPIAgainstOpenAPI drives a real hub through every operation and
// checks each answer against the operation's documented responses.
func TestAPIAgainstOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)

	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	base := "http://" + h.Addr()
	c, err := api.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustKey := func() *keys.PrivateKey {
		k, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	owner, cam, viewer, stranger := mustKey(), mustKey(), mustKey(), mustKey()
	sign := func(m tx.Msg, ks ...*keys.PrivateKey) []byte {
		s, err := tx.Sign(st.EVMChainID, m, ks...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	exp := tx.ExpiryIn(time.Minute)
	now := uint64(time.Now().Unix())
	imprint, err := c.Submit(ctx, sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: exp}, owner, cam))
	if err != nil {
		t.Fatalf("imprint: %v", err)
	}
	if _, err := c.Submit(ctx, sign(&tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), ValidUntil: now + 3600,
		Nonce: tx.NewNonce(), Expiry: exp}, owner)); err != nil {
		t.Fatalf("grant: %v", err)
	}
	tree := checkpoint.NewTree()
	for i := range 20 {
		tree.Append(feedchain.Hash{byte(i)})
	}
	for i := range uint64(2) {
		size := 10*i + 10
		root, _ := tree.RootAt(size)
		var cons []byte
		if i > 0 {
			p, _ := tree.ConsistencyProof(10*i, size)
			cons = checkpoint.EncodeProof(p)
		}
		if _, err := c.Submit(ctx, sign(&tx.Checkpoint{Camera: cam.Address(), PeriodStart: now - 600 + 200*i, PeriodEnd: now - 400 + 200*i,
			FirstSeq: 10 * i, LastSeq: 10*i + 9, TreeSize: size, Root: root, ChainHead: feedchain.Hash{2, byte(i)},
			Consistency: cons, Nonce: tx.NewNonce(), Expiry: exp}, cam)); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}

	// Reads need a login: the owner's session is the default.
	login := func(k *keys.PrivateKey) *api.Session {
		cid, err := signin.NewClientID()
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Login(ctx, k.Address(), k.SignText, cid, signin.Head{})
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		return s
	}
	ownerSess := login(owner)
	token := ownerSess.AccessToken
	c.WithCredentials(api.StaticToken(token))

	// call sends one request and checks the answer against the operation
	// documented for op ("METHOD /api/v1/pattern"). It returns the body.
	call := func(op, method, path, body string, want int) map[string]any {
		t.Helper()
		o := ops[op]
		if o == nil {
			t.Fatalf("%s is not documented", op)
		}
		return checkCall(t, doc, o, op, method, base+path, body, token, want)
	}
	camHex, ownerHex := cam.Address().Hex(), owner.Address().Hex()
	const (
		getStatus   = "GET /api/v1/status"
		getDevice   = "GET /api/v1/devices/{camera}"
		getGrants   = "GET /api/v1/devices/{camera}/grants"
		getCkpts    = "GET /api/v1/devices/{camera}/checkpoints"
		getOwned    = "GET /api/v1/owners/{owner}/devices"
		getAudit    = "GET /api/v1/audit"
		getTx       = "GET /api/v1/txs/{hash}"
		postTx      = "POST /api/v1/txs"
		getRecs     = "GET /api/v1/devices/{camera}/recordings"
		getLink     = "GET /api/v1/link"
		postPair    = "POST /api/v1/pairings"
		badChecksum = "0x5050a4f4b3f9338C3472dcC01A87C76A144b3c9c"
	)

	call(getStatus, "GET", "/api/v1/status", "", 200)
	if v := call("GET /api/v1/validators", "GET", "/api/v1/validators", "", 200); v["total_power"] == nil || len(v["validators"].([]any)) != 1 {
		t.Errorf("validators: %v", v)
	}

	d := call(getDevice, "GET", "/api/v1/devices/"+camHex, "", 200)
	if d["owner"] != ownerHex || len(d["grants"].([]any)) != 1 {
		t.Errorf("device: %v", d)
	}
	call(getDevice, "GET", "/api/v1/devices/"+strings.ToLower(camHex), "", 200)
	call(getDevice, "GET", "/api/v1/devices/"+stranger.Address().Hex(), "", 404)
	call(getDevice, "GET", "/api/v1/devices/0x1234", "", 400)
	call(getDevice, "GET", "/api/v1/devices/"+badChecksum, "", 400)

	g := call(getGrants, "GET", "/api/v1/devices/"+camHex+"/grants", "", 200)
	if len(g["items"].([]any)) != 1 {
		t.Errorf("grants: %v", g)
	}
	call(getGrants, "GET", "/api/v1/devices/"+stranger.Address().Hex()+"/grants", "", 404)
	call(getGrants, "GET", "/api/v1/devices/nope/grants", "", 400)

	p := call(getCkpts, "GET", "/api/v1/devices/"+camHex+"/checkpoints?limit=1", "", 200)
	if len(p["items"].([]any)) != 1 || p["next"] != "1" {
		t.Errorf("checkpoints page 1: %v", p)
	}
	p = call(getCkpts, "GET", "/api/v1/devices/"+camHex+"/checkpoints?epoch=0&from=1&limit=500", "", 200)
	if len(p["items"].([]any)) != 1 || p["next"] != nil {
		t.Errorf("checkpoints page 2: %v", p)
	}
	call(getCkpts, "GET", "/api/v1/devices/"+camHex+"/checkpoints?epoch=7", "", 403) // only the current epoch
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "epoch=-1", "from=1.5"} {
		call(getCkpts, "GET", "/api/v1/devices/"+camHex+"/checkpoints?"+q, "", 400)
	}
	call(getCkpts, "GET", "/api/v1/devices/"+stranger.Address().Hex()+"/checkpoints", "", 404)

	o := call(getOwned, "GET", "/api/v1/owners/"+ownerHex+"/devices", "", 200)
	if len(o["items"].([]any)) != 1 {
		t.Errorf("owner's devices: %v", o)
	}
	call(getOwned, "GET", "/api/v1/owners/"+stranger.Address().Hex()+"/devices", "", 403)
	call(getOwned, "GET", "/api/v1/owners/"+badChecksum+"/devices", "", 400)

	a := call(getAudit, "GET", "/api/v1/audit", "", 200)
	if n := len(a["items"].([]any)); n < 2 { // the owner's: imprint, grant
		t.Errorf("audit: %d events: %v", n, a)
	}
	a = call(getAudit, "GET", "/api/v1/audit?camera="+camHex+"&limit=1", "", 200)
	next, _ := a["next"].(string)
	if len(a["items"].([]any)) != 1 || next == "" {
		t.Fatalf("audit page 1: %v", a)
	}
	call(getAudit, "GET", "/api/v1/audit?camera="+camHex+"&before="+next, "", 200)
	call(getAudit, "GET", "/api/v1/audit?principal="+strings.ToLower(ownerHex), "", 200)
	call(getAudit, "GET", "/api/v1/audit?principal="+viewer.Address().Hex(), "", 403)
	for _, q := range []string{"limit=0", "limit=501", "camera=0x12", "principal=" + badChecksum, "before=-3"} {
		call(getAudit, "GET", "/api/v1/audit?"+q, "", 400)
	}

	tr := call(getTx, "GET", "/api/v1/txs/"+imprint.Hash, "", 200)
	if tr["code"] != json.Number("0") || tr["type"] != "Imprint" || tr["tx"] == nil {
		t.Errorf("tx lookup: %v", tr)
	}
	call(getTx, "GET", "/api/v1/txs/"+strings.TrimPrefix(imprint.Hash, "0x"), "", 200)
	call(getTx, "GET", "/api/v1/txs/0x"+strings.Repeat("ab", 32), "", 404)
	call(getTx, "GET", "/api/v1/txs/0x1234", "", 400)

	raw := sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 3600, Nonce: tx.NewNonce(), Expiry: exp}, owner)
	body := `{"tx":"0x` + hex.EncodeToString(raw) + `"}`
	r := call(postTx, "POST", "/api/v1/txs", body, 200)
	if r["code"] != json.Number("0") || r["type"] != "SetPolicy" {
		t.Errorf("submit: %v", r)
	}
	// The same bytes again: the node still holds them (409), or, once they
	// leave its cache, the ledger refuses the spent nonce (422 replay).
	again := call(postTx, "POST", "/api/v1/txs", body, 0)
	if e, _ := again["error"].(map[string]any); e["code"] != "conflict" && e["code"] != "refused" {
		t.Errorf("resubmission: %v", again)
	}
	// Decodes as hex but not as a transaction: the ledger says why.
	ref := call(postTx, "POST", "/api/v1/txs", `{"tx":"0xdeadbeef"}`, 422)
	if res := ref["error"].(map[string]any)["result"].(map[string]any); res["code_name"] != "encoding" || res["height"] != nil {
		t.Errorf("junk tx: %v", ref)
	}
	// Signed by someone other than the owner: refused before any block
	// (the state's rules run at CheckTx, SPEC §3).
	ref = call(postTx, "POST", "/api/v1/txs", `{"tx":"0x`+hex.EncodeToString(
		sign(&tx.Release{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: exp}, stranger))+`"}`, 422)
	if res := ref["error"].(map[string]any)["result"].(map[string]any); res["code"] != json.Number("9") || res["height"] != nil {
		t.Errorf("unauthorized release: %v", ref)
	}
	for _, b := range []string{``, `{`, `[]`, `{"tx":5}`, `{"tx":"0x"}`, `{"tx":"0xzz"}`, `{"tx":"0x00","extra":1}`,
		`{"tx":"0x` + strings.Repeat("00", maxBodyBytes) + `"}`} {
		call(postTx, "POST", "/api/v1/txs", b, 400)
	}

	// Recordings: the camera is on the ledger but has sent nothing.
	rec := call(getRecs, "GET", "/api/v1/devices/"+camHex+"/recordings", "", 200)
	if items, _ := rec["items"].([]any); items == nil || len(items) != 0 || rec["head_seq"] != nil || rec["next"] != nil ||
		rec["live"] != false || rec["camera"] != camHex || rec["epoch"] != json.Number("0") {
		t.Errorf("recordings of a camera that sent nothing: %v", rec)
	}
	rec = call(getRecs, "GET", "/api/v1/devices/"+strings.ToLower(camHex)+"/recordings?epoch=0&from=3&limit=500", "", 200)
	if len(rec["items"].([]any)) != 0 || rec["epoch"] != json.Number("0") || rec["head_seq"] != nil {
		t.Errorf("recordings from seq 3: %v", rec)
	}
	call(getRecs, "GET", "/api/v1/devices/"+camHex+"/recordings?epoch=7", "", 403) // only the current epoch
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "epoch=-1", "from=1.5"} {
		call(getRecs, "GET", "/api/v1/devices/"+camHex+"/recordings?"+q, "", 400)
	}
	call(getRecs, "GET", "/api/v1/devices/"+badChecksum+"/recordings", "", 400)
	call(getRecs, "GET", "/api/v1/devices/"+stranger.Address().Hex()+"/recordings", "", 404)

	// Evidence: the errors are JSON (a bundle itself is CBOR; internal/evidence
	// and the CLI test export real ones).
	const getEvid = "GET /api/v1/devices/{camera}/evidence"
	evq := "?from=2024-05-01T12:00:00Z&to=2024-05-01T13:00:00.5Z"
	call(getEvid, "GET", "/api/v1/devices/"+camHex+"/evidence"+evq, "", 404) // nothing stored
	for _, q := range []string{"", "?from=2024-05-01T12:00:00Z", "?from=yesterday&to=2024-05-01T13:00:00Z",
		"?from=2024-05-01T13:00:00Z&to=2024-05-01T12:00:00Z", evq + "&epoch=x"} {
		call(getEvid, "GET", "/api/v1/devices/"+camHex+"/evidence"+q, "", 400)
	}
	call(getEvid, "GET", "/api/v1/devices/"+stranger.Address().Hex()+"/evidence"+evq, "", 404)

	li := call(getLink, "GET", "/api/v1/link", "", 200)
	if li["hub_address"] != h.Address().Hex() || li["link_address"] != h.LinkAddr() || li["tls_pin"] != h.linkID.Pin.String() {
		t.Errorf("link: %v", li)
	}

	// Pairing a second camera with this hub.
	cam2 := mustKey()
	pin := strings.Repeat("5a", 32)
	imp2 := &tx.Imprint{Camera: cam2.Address(), Owner: owner.Address(), Hub: h.Address(), Nonce: tx.NewNonce(), Expiry: exp}
	// pairBody is a PairRequest body; extra is appended inside the object.
	// The camera's signature of pin for imp2 (SPEC §8).
	pinSigOf := func(signer *keys.PrivateKey, imp *tx.Imprint, pinHex string) string {
		p, err := link.ParsePin(pinHex)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := tx.Digest(st.EVMChainID, imp)
		sig, err := signer.SignDigest(pairing.PinDigest(d, p))
		if err != nil {
			t.Fatal(err)
		}
		return "0x" + hex.EncodeToString(sig[:])
	}
	pinSigFor := func(signer *keys.PrivateKey, pinHex string) string { return pinSigOf(signer, imp2, pinHex) }
	pinSig := pinSigFor(cam2, pin)
	pairBodySig := func(raw []byte, pin, sig, extra string) string {
		return `{"tx":"0x` + hex.EncodeToString(raw) + `","camera_tls_pin":"` + pin + `","camera_tls_pin_sig":"` + sig + `"` + extra + `}`
	}
	pairBody := func(raw []byte, pin, extra string) string { return pairBodySig(raw, pin, pinSig, extra) }
	imp2Raw := sign(imp2, owner, cam2)
	elsewhere := *imp2
	elsewhere.Hub = stranger.Address()
	for _, b := range []string{
		``, `{`, `[]`, `{"tx":5}`, `{"camera_tls_pin":"` + pin + `"}`,
		`{"tx":"0xzz","camera_tls_pin":"` + pin + `"}`,
		`{"tx":"0x","camera_tls_pin":"` + pin + `"}`,
		pairBody(imp2Raw, pin, `,"extra":1`),
		pairBody(imp2Raw, pin, "") + `{}`,
		pairBody(imp2Raw, "", ""),
		pairBody(imp2Raw, pin[:62], ""),
		pairBody(imp2Raw, "0x"+pin[2:], ""),
		pairBody([]byte{0xde, 0xad, 0xbe, 0xef}, pin, ""), // not a transaction: 400 here, 422 on /txs
		pairBody(raw, pin, ""),                            // a SetPolicy, not an Imprint
		pairBody(sign(&elsewhere, owner, cam2), pin, ""),  // an imprint for another hub
		pairBody(imp2Raw, pin, `,"reset_tx":"0xzz"`),
		pairBody(imp2Raw, pin, `,"reset_tx":"0x`+hex.EncodeToString(raw)+`"`), // not a Reset
		pairBody(make([]byte, maxBodyBytes), pin, ""),
		pairBody(imp2Raw, strings.Repeat("6b", 32), ""),                                                // a substituted pin, with the camera's signature of the real one
		pairBodySig(imp2Raw, pin, pinSigFor(owner, pin), ""),                                           // the pin signed by someone else
		pairBodySig(imp2Raw, strings.Repeat("6b", 32), pinSigFor(owner, strings.Repeat("6b", 32)), ""), // substituted and re-signed by the relay
		pairBodySig(imp2Raw, pin, "", ""),                                                              // no signature
	} {
		call(postPair, "POST", "/api/v1/pairings", b, 400)
	}
	if d, err := c.Device(ctx, cam2.Address().Hex()); api.CodeOf(err) != api.ErrNotFound {
		t.Fatalf("a refused pairing request reached the ledger: %v %v", d, err)
	}

	pr := call(postPair, "POST", "/api/v1/pairings", pairBody(imp2Raw, pin, ""), 200)
	if pi, _ := pr["imprint"].(map[string]any); pr["camera"] != cam2.Address().Hex() || pr["owner"] != ownerHex ||
		pr["hub"] != h.Address().Hex() || pr["epoch"] != json.Number("0") || pr["reset"] != nil ||
		pi["code"] != json.Number("0") || pi["height"] == nil {
		t.Errorf("pairing: %v", pr)
	}
	if pr, err := h.loadPairing(cam2.Address(), 0); err != nil || pr.TLSPin != pin {
		t.Errorf("pairing record: %+v, %v", pr, err)
	}
	if d, err := c.Device(ctx, cam2.Address().Hex()); err != nil || d.Owner != ownerHex || d.Hub != h.Address().Hex() {
		t.Errorf("paired camera on the ledger: %+v, %v", d, err)
	}
	rec = call(getRecs, "GET", "/api/v1/devices/"+cam2.Address().Hex()+"/recordings", "", 200)
	if len(rec["items"].([]any)) != 0 || rec["head_seq"] != nil {
		t.Errorf("recordings of a camera just paired: %v", rec)
	}
	// The same imprint again (re-signed: the node's cache holds the exact
	// bytes): the owner's nonce is spent, refused before any block.
	again2 := *imp2
	again2.Expiry++
	ref = call(postPair, "POST", "/api/v1/pairings", pairBodySig(sign(&again2, owner, cam2), pin, pinSigOf(cam2, &again2, pin), ""), 422)
	if e, _ := ref["error"].(map[string]any); e["code"] != "refused" {
		t.Errorf("imprint replay: %v", ref)
	} else if res, _ := e["result"].(map[string]any); res["code_name"] != "replay" || res["height"] != nil {
		t.Errorf("imprint replay: %v", ref)
	}
	// The exact bytes again: whatever the hub answers, it is documented and
	// not a success.
	if again := call(postPair, "POST", "/api/v1/pairings", pairBody(imp2Raw, pin, ""), 0); again == nil || again["error"] == nil {
		t.Errorf("exact resubmission of a pairing: %v", again)
	}

	// A camera reset offline, paired again with its pending reset: the
	// reset goes first, the imprint names the new epoch.
	resetRaw := sign(&tx.Reset{Camera: cam.Address(), Epoch: 0, Nonce: tx.NewNonce(), Expiry: exp}, cam)
	pin1 := strings.Repeat("c3", 32)
	imp1 := &tx.Imprint{Camera: cam.Address(), Owner: viewer.Address(), Hub: h.Address(), Epoch: 1, Nonce: tx.NewNonce(), Expiry: exp}
	pr = call(postPair, "POST", "/api/v1/pairings", pairBodySig(sign(imp1, viewer, cam), pin1, pinSigOf(cam, imp1, pin1),
		`,"reset_tx":"0x`+hex.EncodeToString(resetRaw)+`"`), 200)
	if rs, _ := pr["reset"].(map[string]any); pr["epoch"] != json.Number("1") || pr["owner"] != viewer.Address().Hex() ||
		rs["code"] != json.Number("0") || rs["height"] == nil {
		t.Errorf("pairing after a reset: %v", pr)
	}
	if pr, err := h.loadPairing(cam.Address(), 1); err != nil || pr.TLSPin != pin1 {
		t.Errorf("pairing record after a reset: %+v, %v", pr, err)
	}

	// The login endpoints.
	const (
		getNonce   = "GET /api/v1/auth/nonce"
		postLogin  = "POST /api/v1/auth/login"
		postRenew  = "POST /api/v1/auth/renew"
		getSession = "GET /api/v1/auth/session"
		getClients = "GET /api/v1/auth/clients"
		postRevoke = "POST /api/v1/auth/clients/{client}/revoke"
	)
	n := call(getNonce, "GET", "/api/v1/auth/nonce", "", 200)
	if n["domain"] != h.Addr() || n["uri"] != base || n["chain_id"] != json.Number(strconv.FormatUint(st.EVMChainID, 10)) {
		t.Errorf("nonce: %v", n)
	}
	for _, b := range []string{``, `{`, `{"message":"x","signature":"0x00","client":"` + ownerSess.Client + `"}`,
		`{"message":"x","signature":"0x` + strings.Repeat("00", 65) + `","client":"nope"}`} {
		call(postLogin, "POST", "/api/v1/auth/login", b, 400)
	}
	call(postLogin, "POST", "/api/v1/auth/login", `{"message":"hello","signature":"0x`+strings.Repeat("11", 64)+`1b","client":"`+ownerSess.Client+`"}`, 400)
	rn := call(postRenew, "POST", "/api/v1/auth/renew", `{"client":"`+ownerSess.Client+`","head":"`+ownerSess.Head+`","renewal":"`+ownerSess.Renewal+`"}`, 200)
	call(postRenew, "POST", "/api/v1/auth/renew", `{"client":"`+ownerSess.Client+`","head":"`+ownerSess.Head+`","renewal":"`+strings.Repeat("00", 32)+`"}`, 0)
	call(postRenew, "POST", "/api/v1/auth/renew", `{"client":"x"}`, 400)
	if rn["address"] != ownerHex || rn["head"] == ownerSess.Head {
		t.Errorf("renew: %v", rn)
	}
	who := call(getSession, "GET", "/api/v1/auth/session", "", 200)
	if who["address"] != ownerHex {
		t.Errorf("session: %v", who)
	}
	cl := call(getClients, "GET", "/api/v1/auth/clients", "", 200)
	if items := cl["items"].([]any); len(items) != 1 || items[0].(map[string]any)["current"] != true {
		t.Errorf("clients: %v", cl)
	}
	call(postRevoke, "POST", "/api/v1/auth/clients/"+strings.Repeat("ab", 16)+"/revoke", `{}`, 404)
	call(postRevoke, "POST", "/api/v1/auth/clients/xyz/revoke", `{}`, 400)
	other := login(owner)
	rv := call(postRevoke, "POST", "/api/v1/auth/clients/"+other.Client+"/revoke", `{}`, 200)
	if rv["revoked"] != true {
		t.Errorf("revoke: %v", rv)
	}
	ue := checkCall(t, doc, ops[getSession], getSession, "GET", base+"/api/v1/auth/session", "", other.AccessToken, 401)
	if ue["error"].(map[string]any)["code"] != "unauthenticated" {
		t.Errorf("revoked client's token: %v", ue)
	}

	// The browser and device-flow endpoints.
	const (
		postTicket  = "POST /api/v1/auth/ticket"
		postLogout  = "POST /api/v1/auth/logout"
		postDevice  = "POST /api/v1/auth/device"
		getDevInfo  = "GET /api/v1/auth/device/{code}"
		postApprove = "POST /api/v1/auth/device/{code}/approve"
		postDevTok  = "POST /api/v1/auth/device/token"
	)
	if tk := call(postTicket, "POST", "/api/v1/auth/ticket", `{}`, 200); len(tk["ticket"].(string)) != 64 {
		t.Errorf("ticket: %v", tk)
	}
	call(postTicket, "POST", "/api/v1/auth/ticket", `{"x":1}`, 400)
	call(postLogout, "POST", "/api/v1/auth/logout", `{}`, 200)
	dv := call(postDevice, "POST", "/api/v1/auth/device", `{"client":"`+strings.Repeat("ef", 16)+`"}`, 200)
	call(postDevice, "POST", "/api/v1/auth/device", `{"client":"x"}`, 400)
	call(postDevice, "POST", "/api/v1/auth/device", `{"client":"`+strings.Repeat("ef", 16)+`","address":"`+badChecksum+`"}`, 400)
	code, _ := dv["code"].(string)
	di := call(getDevInfo, "GET", "/api/v1/auth/device/"+code, "", 200)
	if di["code"] != code || di["hub"] != base {
		t.Errorf("device info: %v", di)
	}
	call(getDevInfo, "GET", "/api/v1/auth/device/AAAA-AAAA", "", 404)
	call(getDevInfo, "GET", "/api/v1/auth/device/O0O0-O0O0", "", 400)
	call(postApprove, "POST", "/api/v1/auth/device/"+code+"/approve", `{"message":"x","signature":"0x00"}`, 400)
	call(postApprove, "POST", "/api/v1/auth/device/"+code+"/approve", `{"message":"x","signature":"0x`+strings.Repeat("11", 64)+`1b"}`, 400)
	tokBody := `{"request":"` + dv["request"].(string) + `","secret":"` + dv["secret"].(string) + `"}`
	if p := call(postDevTok, "POST", "/api/v1/auth/device/token", tokBody, 200); p["status"] != "pending" {
		t.Errorf("device token: %v", p)
	}
	call(postDevTok, "POST", "/api/v1/auth/device/token", `{"request":"`+dv["request"].(string)+`","secret":"`+strings.Repeat("00", 32)+`"}`, 404)
	call(postDevTok, "POST", "/api/v1/auth/device/token", `{"request":"x","secret":"y"}`, 400)
	approveKey := mustKey()
	info, err := c.DeviceInfo(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	appr, err := info.Approval(approveKey.Address(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := approveKey.SignText([]byte(appr.String()))
	apprBody, _ := json.Marshal(api.DeviceApproveRequest{Message: appr.String(), Signature: sig.Hex()})
	call(postApprove, "POST", "/api/v1/auth/device/"+code+"/approve", string(apprBody), 200)
	call(postApprove, "POST", "/api/v1/auth/device/"+code+"/approve", string(apprBody), 409)
	if p := call(postDevTok, "POST", "/api/v1/auth/device/token", tokBody, 200); p["status"] != "approved" {
		t.Errorf("device token after approval: %v", p)
	}
	call(postDevTok, "POST", "/api/v1/auth/device/token", tokBody, 409)

	// Anything not in the file is a JSON 404.
	for _, u := range []struct{ method, path string }{
		{"GET", "/api/v1/nope"}, {"GET", "/nope"}, {"GET", "/api/v2/status"}, {"GET", "/api/v1/devices/"},
		{"POST", "/api/v1/status"}, {"DELETE", "/api/v1/txs/" + imprint.Hash},
	} {
		unknown := &oaOperation{Responses: map[string]*oaResponse{"404": {Ref: "#/components/responses/NotFound"}}}
		e := checkCall(t, doc, unknown, "unknown endpoint", u.method, base+u.path, "", "", 404)
		if e["error"].(map[string]any)["code"] != "not_found" {
			t.Errorf("%s %s: %v", u.method, u.path, e)
		}
	}
}

// checkCall sends a request and checks the response against op: the status
// is one op documents (and equals want unless want is 0), the headers are
// the API's, and the body validates against the documented schema.
func checkCall(t *testing.T, doc *openAPI, op *oaOperation, name, method, url, body, token string, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	where := fmt.Sprintf("%s %s (%s)", method, strings.TrimPrefix(url, "http://"), name)
	if want != 0 && resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d: %s", where, resp.StatusCode, want, data)
	}
	s, ok := doc.responseSchema(t, op, resp.StatusCode)
	if !ok {
		t.Errorf("%s: status %d is not documented for this operation: %s", where, resp.StatusCode, data)
		return nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", where, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", where, cc)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s: body is not a JSON object: %v: %s", where, err, data)
		return nil
	}
	doc.validate(t, where, v, s)
	return v
}
