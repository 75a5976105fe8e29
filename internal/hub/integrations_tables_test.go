package hub

import (
	"reflect"

	"github.com/camchain/camchain/internal/api"
)

// The integrations' route and types in the tables of the authorization
// and OpenAPI tests (kept here, beside the feature).
func init() {
	authzCases["GET /api/v1/integrations"] = authzCase{"GET", "/api/v1/integrations", "", false, false} // the hub's owner (--owner) only
	wireTypes["Integrations"] = reflect.TypeFor[api.Integrations]()
	wireTypes["IntegrationSink"] = reflect.TypeFor[api.IntegrationSink]()
}
