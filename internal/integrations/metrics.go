package integrations

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// metrics are the hub's Prometheus metrics (docs/SPEC.md §13.5). Names
// follow the Prometheus conventions: camchain_ prefix, base units
// (seconds, bytes), _total on counters.
type metrics struct {
	reg *prometheus.Registry

	received, acked, segBytes *prometheus.CounterVec
	ackLatency                prometheus.Histogram
	sessions                  prometheus.Counter
	sessionsActive            prometheus.Gauge
	refusals                  *prometheus.CounterVec
	alarms                    *prometheus.CounterVec
	commitLatency             prometheus.Histogram
	delivered, failures       *prometheus.CounterVec

	mu   sync.Mutex
	cams map[keys.Address]*camCounters
}

type camCounters struct{ received, acked, bytes prometheus.Counter }

// latencyBuckets: 1 ms to 10 s (an fsync is milliseconds, a block is
// about a second).
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 11)

func newMetrics(hub Hub, s *Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), cams: map[keys.Address]*camCounters{}}
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_link_segments_received_total",
		Help: "Segments received on the camera link, per camera."}, []string{"camera"})
	m.acked = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_link_segments_acknowledged_total",
		Help: "Segments stored durably and acknowledged to the camera, per camera."}, []string{"camera"})
	m.segBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_link_segment_bytes_total",
		Help: "Bytes of the segments received on the camera link, per camera."}, []string{"camera"})
	m.ackLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "camchain_link_ack_latency_seconds",
		Help: "Time from a segment read off the link to its acknowledgement sent (verify, fsync, sign).", Buckets: latencyBuckets})
	m.sessions = prometheus.NewCounter(prometheus.CounterOpts{Name: "camchain_link_sessions_total",
		Help: "Camera link sessions that passed the handshake."})
	m.sessionsActive = prometheus.NewGauge(prometheus.GaugeOpts{Name: "camchain_link_sessions_active",
		Help: "Camera link sessions live now."})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_link_refusals_total",
		Help: "Camera link sessions the hub refused, by refuse code (docs/SPEC.md §7)."}, []string{"code"})
	m.alarms = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_alarms_total",
		Help: "Security alarms the hub recorded, by audit kind."}, []string{"kind"})
	m.commitLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "camchain_ledger_commit_latency_seconds",
		Help: "Time from the hub's submission of a transaction to its block's commit.", Buckets: latencyBuckets})
	m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_integration_delivered_total",
		Help: "Events delivered, per sink (mqtt, webhook-<n>)."}, []string{"sink"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camchain_integration_delivery_failures_total",
		Help: "Failed delivery attempts (each retried), per sink."}, []string{"sink"})
	m.reg.MustRegister(m.received, m.acked, m.segBytes, m.ackLatency, m.sessions, m.sessionsActive,
		m.refusals, m.alarms, m.commitLatency, m.delivered, m.failures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&hubCollector{hub: hub, s: s})
	return m
}

func (m *metrics) camera(c keys.Address) *camCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	cc := m.cams[c]
	if cc == nil {
		l := c.Hex()
		cc = &camCounters{m.received.WithLabelValues(l), m.acked.WithLabelValues(l), m.segBytes.WithLabelValues(l)}
		m.cams[c] = cc
	}
	return cc
}

var (
	descHeight     = prometheus.NewDesc("camchain_ledger_height", "Height of the last committed ledger block.", nil, nil)
	descStore      = prometheus.NewDesc("camchain_store_bytes", "Segment bytes in the hub's recording store.", nil, nil)
	descDelSegs    = prometheus.NewDesc("camchain_store_retention_deleted_segments_total", "Segment files retention deleted since the hub started.", nil, nil)
	descDelBytes   = prometheus.NewDesc("camchain_store_retention_deleted_bytes_total", "Bytes of the segment files retention deleted since the hub started.", nil, nil)
	descLagSeconds = prometheus.NewDesc("camchain_checkpoint_lag_seconds", "Time since the end of the camera's last checkpointed period (since its imprint while it has none).", []string{"camera"}, nil)
	descLagSegs    = prometheus.NewDesc("camchain_checkpoint_lag_segments", "Records the hub holds past the camera's last checkpoint.", []string{"camera"}, nil)
	descPending    = prometheus.NewDesc("camchain_integration_pending_events", "Events in the outbox a sink has not taken yet.", []string{"sink"}, nil)
	descDropped    = prometheus.NewDesc("camchain_integration_events_dropped_total", "Events dropped from the full outbox before a sink took them.", []string{"sink"}, nil)
	descConnected  = prometheus.NewDesc("camchain_integration_connected", "1 while the sink's last attempt succeeded (MQTT: connected to the broker).", []string{"sink"}, nil)
)

// hubCollector reads the hub's state at scrape time.
type hubCollector struct {
	hub Hub
	s   *Service
}

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHeight, descStore, descDelSegs, descDelBytes, descLagSeconds, descLagSegs, descPending, descDropped, descConnected} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	h, _ := c.hub.Height()
	ch <- prometheus.MustNewConstMetric(descHeight, prometheus.GaugeValue, float64(h))
	ch <- prometheus.MustNewConstMetric(descStore, prometheus.GaugeValue, float64(c.hub.StoreBytes()))
	segs, bytes := c.hub.RetentionDeleted()
	ch <- prometheus.MustNewConstMetric(descDelSegs, prometheus.CounterValue, float64(segs))
	ch <- prometheus.MustNewConstMetric(descDelBytes, prometheus.CounterValue, float64(bytes))
	now := time.Now()
	for _, ci := range c.hub.Cameras() {
		l := ci.Camera.Hex()
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, checkpointLag(ci, now).Seconds(), l)
		ch <- prometheus.MustNewConstMetric(descLagSegs, prometheus.GaugeValue, float64(checkpointLagSegments(ci)), l)
	}
	for _, st := range c.s.sinkStates() {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(st.Pending), st.Name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.Dropped), st.Name)
		v := 0.0
		if st.Connected {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, v, st.Name)
	}
}

// checkpointLag is how long ago the last checkpointed period ended.
func checkpointLag(ci CameraInfo, now time.Time) time.Duration {
	from := ci.LastCheckpointEnd
	if ci.Checkpoints == 0 {
		from = ci.ImprintedAt
	}
	if from.IsZero() || now.Before(from) {
		return 0
	}
	return now.Sub(from).Truncate(time.Second)
}

// checkpointLagSegments is how many records the hub holds past the last
// checkpoint.
func checkpointLagSegments(ci CameraInfo) uint64 {
	if !ci.Head.Valid {
		return 0
	}
	if ci.Checkpoints == 0 {
		return ci.Head.Seq + 1
	}
	if ci.Head.Seq <= ci.LastCheckpointSeq {
		return 0
	}
	return ci.Head.Seq - ci.LastCheckpointSeq
}

// Observer is the link.Observer the hub gives its link server.
type observer struct{ s *Service }

var _ link.Observer = observer{}

func (o observer) SessionStarted(c keys.Address) {
	o.s.m.sessions.Inc()
	o.s.m.sessionsActive.Inc()
	o.s.tr.sessionStarted(c)
	o.s.poke()
}

func (o observer) SessionEnded(c keys.Address) {
	o.s.m.sessionsActive.Dec()
	o.s.tr.sessionEnded(c)
	o.s.poke()
}

func (o observer) Refused(c keys.Address, code link.RefuseCode) {
	o.s.m.refusals.WithLabelValues(string(code)).Inc()
	o.s.tr.refused(c, code)
	o.s.poke()
}

func (o observer) SegmentReceived(c keys.Address, n int) {
	cc := o.s.m.camera(c)
	cc.received.Inc()
	cc.bytes.Add(float64(n))
}

func (o observer) Acknowledged(c keys.Address, seq uint64, took time.Duration) {
	o.s.m.camera(c).acked.Inc()
	o.s.m.ackLatency.Observe(took.Seconds())
	o.s.tr.acknowledged(c, seq)
}

// alarmKind counts an alarm.
func (m *metrics) alarm(k audit.Kind) { m.alarms.WithLabelValues(string(k)).Inc() }
