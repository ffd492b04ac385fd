package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chart draws the ratio rows as a horizontal bar chart on a log2 axis, as
// plain SVG: one bar per ratio from 1× to the measured value, green when its
// target is met, red when missed, grey when there is no target, and a black
// tick at the target.
func chart(rows []row) string {
	var rs []row
	for _, r := range rows {
		if r.ratio() && r.hasData() && r.value > 0 && !math.IsInf(r.value, 0) {
			rs = append(rs, r)
		}
	}
	// Axis: powers of two covering every value and limit, at least 1/4..4.
	lo, hi := -2.0, 2.0
	for _, r := range rs {
		lo = math.Min(lo, math.Floor(math.Log2(r.value)))
		hi = math.Max(hi, math.Ceil(math.Log2(r.value)))
		if r.hasTarget() {
			lo = math.Min(lo, math.Floor(math.Log2(r.limit)))
			hi = math.Max(hi, math.Ceil(math.Log2(r.limit)))
		}
	}
	const (
		width, labelW, rightPad = 900, 360, 70
		top, rowH, barH         = 56, 30, 16
	)
	plotW := float64(width - labelW - rightPad)
	x := func(v float64) float64 { return labelW + (math.Log2(v)-lo)/(hi-lo)*plotW }
	height := top + rowH*len(rs) + 30

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="10" y="20" font-size="14" font-weight="bold">ours ÷ baseline, same run (log scale; left of 1× is faster or smaller)</text>` + "\n")
	p(`<text x="10" y="38" fill="#555">green: target met · red: missed · grey: no target · black tick: target</text>` + "\n")
	for e := lo; e <= hi; e++ {
		gx := x(math.Exp2(e))
		stroke, w := "#ddd", 1
		if e == 0 {
			stroke, w = "#888", 2
		}
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%d"/>`+"\n", gx, top-6, gx, top+rowH*len(rs), stroke, w)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", gx, top+rowH*len(rs)+16, axisLabel(e))
	}
	for i, r := range rs {
		y := top + i*rowH
		color := "#9e9e9e"
		switch {
		case r.hasTarget() && r.met():
			color = "#2e7d32"
		case r.hasTarget():
			color = "#c62828"
		}
		x0, x1 := x(1), x(r.value)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		p(`<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH-3, html.EscapeString(shorten(r.label(), 50)))
		title := r.label() + ": " + r.valueString()
		if r.hasTarget() {
			title += " (target " + r.text + ")"
		}
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x0, y, math.Max(x1-x0, 1), barH, color, html.EscapeString(title))
		if r.hasTarget() {
			tx := x(r.limit)
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="2"/>`+"\n", tx, y-3, tx, y+barH+3)
		}
		p(`<text x="%.1f" y="%d">%s</text>`+"\n", math.Max(x(r.value), x(1))+6, y+barH-3, r.valueString())
	}
	p("</svg>\n")
	return b.String()
}

// axisLabel names the power of two 2^e: "1×", "4×", "1/8×".
func axisLabel(e float64) string {
	if e >= 0 {
		return fmt.Sprintf("%.0f×", math.Exp2(e))
	}
	return fmt.Sprintf("1/%.0f×", math.Exp2(-e))
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
