package streams

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	fixesIn   *prometheus.CounterVec
	clients   prometheus.Gauge
	resyncs   prometheus.Counter
	applySecs prometheus.Histogram
	jt808     jt808Metrics
}

// NewMetrics registers the server's metrics; lag and dropped read live values.
func NewMetrics(lag func() float64, dropped func() float64) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "commandd_requests_total",
		Help: "API requests by endpoint and HTTP status."}, []string{"endpoint", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "commandd_request_seconds",
		Help: "API request latency by endpoint.", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)}, []string{"endpoint"})
	m.fixesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "commandd_fixes_total",
		Help: "GPS fixes accepted and rejected at ingest."}, []string{"outcome"})
	m.clients = prometheus.NewGauge(prometheus.GaugeOpts{Name: "commandd_hub_clients", Help: "Connected WebSocket clients."})
	m.resyncs = prometheus.NewCounter(prometheus.CounterOpts{Name: "commandd_hub_resyncs_total",
		Help: "Snapshots sent to clients that fell behind."})
	m.applySecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "commandd_engine_apply_seconds",
		Help: "Time to apply one log message.", Buckets: prometheus.ExponentialBuckets(0.000001, 4, 12)})
	lagGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "commandd_log_lag_messages",
		Help: "Messages in the log not yet applied by the engine."}, lag)
	droppedGauge := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "commandd_hub_dropped_frames_total",
		Help: "Frames dropped for clients that could not keep up."}, dropped)
	m.reg.MustRegister(m.requests, m.latency, m.fixesIn, m.clients, m.resyncs, m.applySecs, lagGauge, droppedGauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerJT808()
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *Metrics) request(endpoint string, status int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *Metrics) fixes(accepted, rejected int) {
	m.fixesIn.WithLabelValues("accepted").Add(float64(accepted))
	m.fixesIn.WithLabelValues("rejected").Add(float64(rejected))
}

// ObserveApply records how long one log message took to apply.
func (m *Metrics) ObserveApply(d time.Duration) { m.applySecs.Observe(d.Seconds()) }

// HistoryLag registers the history writer's lag: log messages not yet in the store.
func (m *Metrics) HistoryLag(lag func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "commandd_history_lag_messages",
		Help: "Messages in the log not yet written to the history database."}, lag))
}
