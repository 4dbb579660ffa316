package streams

import (
	"github.com/prometheus/client_golang/prometheus"

	"commandd/dispatch"
)

// engineCollector reads what the engine learned of its own ETAs, and its move-ups, at
// each scrape.
type engineCollector struct {
	loop                                 *Loop
	arrivals, bias, abs, factor, moveUps *prometheus.Desc
}

// EngineFigures registers the engine's ETA figures by mode (arrivals seen, mean
// error, mean absolute error overall and lately, the learned correction factor) and
// its move-ups in force.
func (m *Metrics) EngineFigures(l *Loop) {
	mode := []string{"mode"}
	m.reg.MustRegister(&engineCollector{loop: l,
		arrivals: prometheus.NewDesc("commandd_eta_arrivals_total", "Arrivals whose time the engine compared with its ETA.", mode, nil),
		bias:     prometheus.NewDesc("commandd_eta_bias_seconds", "Mean of arrival time less ETA (positive: units take longer than planned).", mode, nil),
		abs: prometheus.NewDesc("commandd_eta_abs_error_seconds", "Mean absolute ETA error, over all arrivals and over about the last fifty.",
			[]string{"mode", "window"}, nil),
		factor:  prometheus.NewDesc("commandd_eta_factor", "Learned correction of the travel model (1: none).", mode, nil),
		moveUps: prometheus.NewDesc("commandd_moveups", "Move-ups in force.", []string{"state"}, nil),
	})
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.arrivals, c.bias, c.abs, c.factor, c.moveUps} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	var etas []dispatch.ETAError
	var moves []dispatch.MoveUpView
	c.loop.Read(func(e *dispatch.Engine) { etas, moves = e.ETAErrors(), e.MoveUps() })
	for _, v := range etas {
		m := v.Mode.String()
		ch <- prometheus.MustNewConstMetric(c.arrivals, prometheus.CounterValue, float64(v.Arrivals), m)
		ch <- prometheus.MustNewConstMetric(c.bias, prometheus.GaugeValue, v.BiasS, m)
		ch <- prometheus.MustNewConstMetric(c.abs, prometheus.GaugeValue, v.MeanAbsS, m, "all")
		ch <- prometheus.MustNewConstMetric(c.abs, prometheus.GaugeValue, v.RecentAbsS, m, "recent")
		ch <- prometheus.MustNewConstMetric(c.factor, prometheus.GaugeValue, v.Factor, m)
	}
	sent := 0
	for _, mv := range moves {
		if mv.Sent {
			sent++
		}
	}
	ch <- prometheus.MustNewConstMetric(c.moveUps, prometheus.GaugeValue, float64(len(moves)-sent), "recommended")
	ch <- prometheus.MustNewConstMetric(c.moveUps, prometheus.GaugeValue, float64(sent), "sent")
}
