package integrations

import (
	"strings"

	"github.com/camchain/camchain/internal/keys"
)

// The MQTT topic tree (docs/SPEC.md §13.2); <hub> and <camera> are
// lowercase 0x addresses:
//
//	<prefix>/<hub>/status                    "online" / "offline" (retained; "offline" is the last will)
//	<prefix>/<hub>/alarm                     every alarm, an Event (QoS 1)
//	<prefix>/<hub>/audit                     every other audit event, an Event (QoS 1)
//	<prefix>/<hub>/camera/<camera>/state     the camera's state, JSON (retained)
//	<prefix>/<hub>/camera/<camera>/<field>   each state field as text (retained)
//	<discovery>/<component>/camchain_<camera hex>/<object>/config   Home Assistant discovery (retained)
type topics struct {
	base            string // <prefix>/<hub>
	discoveryPrefix string
}

func newTopics(prefix, discovery string, hub keys.Address) topics {
	return topics{base: prefix + "/" + strings.ToLower(hub.Hex()), discoveryPrefix: discovery}
}

func (t topics) status() string { return t.base + "/status" }

func (t topics) event(typ EventType) string { return t.base + "/" + string(typ) }

func (t topics) camera(cam keys.Address) string {
	return t.base + "/camera/" + strings.ToLower(cam.Hex())
}

func (t topics) cameraState(cam keys.Address) string { return t.camera(cam) + "/state" }

func (t topics) field(cam keys.Address, name string) string { return t.camera(cam) + "/" + name }

// haStatus is where Home Assistant announces itself ("online" after it
// starts): the hub then publishes discovery and state again.
func (t topics) haStatus() string { return t.discoveryPrefix + "/status" }
