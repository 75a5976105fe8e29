package integrations

import (
	"encoding/json"
	"strings"

	"github.com/camchain/camchain/internal/keys"
)

// Home Assistant MQTT discovery (docs/SPEC.md §13.2): each camera is a
// device with these entities, all reading the camera's JSON state topic
// and available while the hub's status topic says "online". Home
// Assistant needs no configuration: it picks the retained config messages
// up under <discovery prefix>/<component>/<node>/<object>/config.

type haDevice struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	SWVersion    string   `json:"sw_version,omitempty"`
	ViaDevice    string   `json:"via_device,omitempty"`
}

type haAvailability struct {
	Topic               string `json:"topic"`
	PayloadAvailable    string `json:"payload_available"`
	PayloadNotAvailable string `json:"payload_not_available"`
}

type haOrigin struct {
	Name      string `json:"name"`
	SWVersion string `json:"sw_version,omitempty"`
	URL       string `json:"support_url,omitempty"`
}

// haConfig is one entity's discovery payload.
type haConfig struct {
	Name                   string           `json:"name"`
	UniqueID               string           `json:"unique_id"`
	StateTopic             string           `json:"state_topic"`
	ValueTemplate          string           `json:"value_template"`
	Availability           []haAvailability `json:"availability"`
	Device                 haDevice         `json:"device"`
	Origin                 haOrigin         `json:"origin"`
	DeviceClass            string           `json:"device_class,omitempty"`
	StateClass             string           `json:"state_class,omitempty"`
	UnitOfMeasurement      string           `json:"unit_of_measurement,omitempty"`
	PayloadOn              string           `json:"payload_on,omitempty"`
	PayloadOff             string           `json:"payload_off,omitempty"`
	EntityCategory         string           `json:"entity_category,omitempty"`
	Icon                   string           `json:"icon,omitempty"`
	JSONAttributesTopic    string           `json:"json_attributes_topic,omitempty"`
	JSONAttributesTemplate string           `json:"json_attributes_template,omitempty"`
}

// haEntity is one entity of a camera's device.
type haEntity struct {
	component, object string
	cfg               haConfig
}

const boolTemplate = "{{ 'ON' if value_json.%s else 'OFF' }}"

// haEntities are a camera's entities.
func haEntities() []haEntity {
	b := func(field string) string { return strings.Replace(boolTemplate, "%s", field, 1) }
	return []haEntity{
		{"binary_sensor", "online", haConfig{Name: "Online", DeviceClass: "connectivity", ValueTemplate: b("online"), PayloadOn: "ON", PayloadOff: "OFF"}},
		{"binary_sensor", "recording", haConfig{Name: "Recording", DeviceClass: "running", ValueTemplate: b("recording"), PayloadOn: "ON", PayloadOff: "OFF"}},
		{"binary_sensor", "integrity_alarm", haConfig{Name: "Integrity alarm", DeviceClass: "problem", ValueTemplate: b("integrity_alarm"), PayloadOn: "ON", PayloadOff: "OFF",
			JSONAttributesTemplate: `{{ {'last_alarm': value_json.last_alarm, 'last_alarm_at': value_json.last_alarm_at} | tojson }}`}},
		{"sensor", "last_checkpoint_age", haConfig{Name: "Last checkpoint age", DeviceClass: "duration", UnitOfMeasurement: "s", StateClass: "measurement",
			ValueTemplate: "{{ value_json.last_checkpoint_age }}"}},
		{"sensor", "alarms", haConfig{Name: "Alarms", StateClass: "total_increasing", Icon: "mdi:alarm-light",
			ValueTemplate:          "{{ value_json.alarms }}",
			JSONAttributesTemplate: `{{ {'last_alarm': value_json.last_alarm, 'last_alarm_at': value_json.last_alarm_at} | tojson }}`}},
		{"sensor", "link", haConfig{Name: "Link", Icon: "mdi:link-variant", EntityCategory: "diagnostic", ValueTemplate: "{{ value_json.link }}"}},
		{"sensor", "last_checkpoint", haConfig{Name: "Last checkpoint", DeviceClass: "timestamp", EntityCategory: "diagnostic",
			ValueTemplate: "{{ value_json.last_checkpoint if value_json.last_checkpoint else None }}"}},
		{"sensor", "chain_head", haConfig{Name: "Chain head", Icon: "mdi:link-lock", EntityCategory: "diagnostic",
			ValueTemplate: "{{ value_json.head_seq }}"}},
	}
}

// nodeID is a camera's node in discovery topics and ids: [a-z0-9_].
func nodeID(cam keys.Address) string { return "camchain_" + strings.ToLower(cam.Hex()[2:]) }

// discovery returns the topic and payload of each of a camera's entities.
func (t topics) discovery(cam keys.Address, version string) (map[string][]byte, error) {
	node := nodeID(cam)
	hex := cam.Hex()
	dev := haDevice{Identifiers: []string{node}, Name: "camchain camera " + hex[:8] + "…" + hex[len(hex)-4:],
		Manufacturer: "camchain", Model: "camchain camera", SWVersion: version}
	avail := []haAvailability{{Topic: t.status(), PayloadAvailable: "online", PayloadNotAvailable: "offline"}}
	out := map[string][]byte{}
	for _, e := range haEntities() {
		c := e.cfg
		c.UniqueID = node + "_" + e.object
		c.StateTopic = t.cameraState(cam)
		c.Availability = avail
		c.Device = dev
		c.Origin = haOrigin{Name: "camchain", SWVersion: version}
		if c.JSONAttributesTemplate != "" {
			c.JSONAttributesTopic = c.StateTopic
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out[t.discoveryPrefix+"/"+e.component+"/"+node+"/"+e.object+"/config"] = b
	}
	return out, nil
}
