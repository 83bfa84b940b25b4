package console

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// chart is a stacked bar chart of hourly values by key, rendered as
// inline SVG on the server (no script), with its totals for a table.
type chart struct {
	SVG    template.HTML
	Totals []total
}

type total struct {
	Key   string
	N     int64
	Color string
}

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563", "#ea580c"}

// newChart draws points (hour, key, n) over the hours from start, one
// bar per hour; the legend gives each key's total.
func newChart(start time.Time, hours int, pts []moderation.StatPoint) chart {
	return drawChart(start, hours, pts, false)
}

// gaugeChart is newChart for a sampled value: the legend gives each
// key's peak, not a sum of samples.
func gaugeChart(start time.Time, hours int, pts []moderation.StatPoint) chart {
	return drawChart(start, hours, pts, true)
}

func drawChart(start time.Time, hours int, pts []moderation.StatPoint, gauge bool) chart {
	start = start.UTC().Truncate(time.Hour)
	byKey := map[string]int64{}
	for _, p := range pts {
		if gauge {
			byKey[p.Key] = max(byKey[p.Key], p.N)
		} else {
			byKey[p.Key] += p.N
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if byKey[a] != byKey[b] {
			return int(byKey[b] - byKey[a])
		}
		return strings.Compare(a, b)
	})
	color := map[string]string{}
	var c chart
	for i, k := range keys {
		color[k] = palette[i%len(palette)]
		c.Totals = append(c.Totals, total{Key: k, N: byKey[k], Color: color[k]})
	}
	stack := make([]map[string]int64, hours)
	sums := make([]int64, hours)
	var peak int64
	for _, p := range pts {
		i := int(p.Hour.UTC().Sub(start) / time.Hour)
		if i < 0 || i >= hours {
			continue
		}
		if stack[i] == nil {
			stack[i] = map[string]int64{}
		}
		stack[i][p.Key] += p.N
		sums[i] += p.N
		peak = max(peak, sums[i])
	}
	const w, h, pad = 720.0, 140.0, 18.0
	bw := (w - 2*pad) / float64(hours)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" xmlns="http://www.w3.org/2000/svg">`, w, h+pad*2)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#9ca3af"/>`, pad, h+pad, w-pad, h+pad)
	if peak > 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis">%d</text>`, pad, pad-4, peak)
		for i := range hours {
			y := h + pad
			for _, k := range keys {
				n := stack[i][k]
				if n == 0 {
					continue
				}
				bh := float64(n) / float64(peak) * h
				y -= bh
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
					pad+float64(i)*bw+bw*0.1, y, bw*0.8, bh, color[k],
					start.Add(time.Duration(i)*time.Hour).Format("01-02 15:00"), html.EscapeString(k), n)
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis">%s</text>`, pad, h+pad*2-3, start.Format("01-02 15:00"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis" text-anchor="end">%s UTC</text>`, w-pad, h+pad*2-3,
		start.Add(time.Duration(hours)*time.Hour).Format("01-02 15:00"))
	b.WriteString(`</svg>`)
	c.SVG = template.HTML(b.String()) // built above from numbers and escaped keys only
	return c
}

func countPoints(cs []moderation.CaseCount) []moderation.StatPoint {
	pts := make([]moderation.StatPoint, len(cs))
	for i, c := range cs {
		pts[i] = moderation.StatPoint{Key: c.Key, Hour: c.Hour, N: c.N}
	}
	return pts
}

// overview shows the charts and the health checks.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	span, hours := "24h", 24
	if r.URL.Query().Get("range") == "7d" {
		span, hours = "7d", 7*24
	}
	now := s.now().UTC()
	start := now.Truncate(time.Hour).Add(-time.Duration(hours-1) * time.Hour)
	data := map[string]any{"Range": span}
	verbs, err := s.d.Store.CountCases(ctx, req.user.Grants, start, "verb")
	if err != nil {
		s.fail(w, req, err)
		return
	}
	rules, err := s.d.Store.CountCases(ctx, req.user.Grants, start, "rule")
	if err != nil {
		s.fail(w, req, err)
		return
	}
	data["Verbs"] = newChart(start, hours, countPoints(verbs))
	data["Rules"] = newChart(start, hours, countPoints(rules))
	// Deliveries and the queue are the whole instance's, not a chat's:
	// only users granted every chat see them.
	if moderation.ScopeAll(req.user.Grants) {
		hooks, err := s.d.Store.Stats(ctx, seriesWebhooks, start)
		if err != nil {
			s.fail(w, req, err)
			return
		}
		queue, err := s.d.Store.Stats(ctx, seriesQueue, start)
		if err != nil {
			s.fail(w, req, err)
			return
		}
		data["Webhooks"] = newChart(start, hours, hooks)
		data["Queue"] = gaugeChart(start, hours, queue)
	}
	data["Health"] = s.d.Health(ctx)
	s.page(w, req, http.StatusOK, "overview", data)
}
