package debug

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/turnstile-go/turnstile/chans"
)

// render executes the named template; a failure after the first byte can
// only be reported in the page itself.
func render(w http.ResponseWriter, name string, s snapshot) {
	if err := page.ExecuteTemplate(w, name, s); err != nil {
		fmt.Fprintf(w, "<p class=error>debug: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"age":    Age,
	"caller": caller,
	"stack":  func(st chans.Stack) string { return strings.TrimRight(st.String(), "\n") },
	"counts": counts,
	"value":  value,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}).Parse(pageHTML))

// counts is a primitive's totals line.
func counts(p chans.Stats) string {
	g := fmt.Sprint(p.Grants)
	if !p.GrantsExact {
		g += "+" // the fast path's grants are not counted
	}
	return fmt.Sprintf("grants %s · cancels %d · take-backs %d", g, p.Cancels, p.TakeBacks)
}

// value is a primitive's count and bound, where it has them.
func value(p chans.Stats) string {
	switch {
	case p.Limit > 0:
		return fmt.Sprintf("%d/%d", p.Value, p.Limit)
	case p.Value > 0:
		return fmt.Sprint(p.Value)
	}
	return ""
}

// pageHTML is the page. Its script refreshes the list by fetching the
// "primitives" template alone (?format=fragment), so that one renderer serves
// both, and keeps the stacks a reader opened open.
const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>turnstile: who holds what</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0; color: #1d2330; background: #f4f5f7; }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; font-weight: 600; }
header p { margin: 4px 0 0; color: #c5cad6; font-size: 13px; }
header a { color: #9cc3ff; }
main { padding: 8px 24px 24px; }
.summary { margin: 10px 0 14px; font-size: 15px; }
.summary .stranded { color: #b00020; font-weight: 600; }
section { background: #fff; border: 1px solid #d7dae0; border-left: 5px solid #8a93a6; border-radius: 6px; margin: 0 0 14px; padding: 10px 16px 12px; }
section.held { border-left-color: #e08a00; }
section.waited { border-left-color: #d03a2f; }
section.stranded { border-left-color: #b00020; background: #fff7f7; }
h2 { margin: 0; font-size: 17px; font-weight: 600; }
h2 .kind { color: #5a6478; font-weight: 500; margin-right: 6px; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; margin-left: 6px; background: #e6e9ef; color: #394150; vertical-align: 2px; }
.badge.held { background: #ffe7c2; color: #7a4a00; }
.badge.waiting { background: #ffd9d5; color: #8c1d13; }
.badge.stranded { background: #b00020; color: #fff; }
.counts { color: #5a6478; font-size: 13px; margin: 2px 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th { text-align: left; font-weight: 600; color: #5a6478; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; padding: 4px 8px; border-bottom: 1px solid #e1e4ea; }
td { padding: 5px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
td.role { font-weight: 600; width: 70px; }
tr.holder td.role { color: #7a4a00; }
tr.waiter td.role { color: #8c1d13; }
td.age { font-variant-numeric: tabular-nums; width: 80px; white-space: nowrap; }
td.what { width: 110px; }
td.status { width: 230px; }
.warn { color: #b00020; font-weight: 600; }
summary { cursor: pointer; font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 13px; }
pre { margin: 6px 0 2px; padding: 8px 10px; background: #f4f5f7; border-radius: 4px; font: 12px/1.4 "DejaVu Sans Mono", ui-monospace, monospace; overflow-x: auto; }
.empty { color: #5a6478; }
</style>
</head>
<body data-refreshes="0">
<header>
<h1>Who holds what</h1>
<p>turnstile · tracked primitives, their holders and waiters · refreshes every 2 s ·
<label><input type="checkbox" id="pause"> pause</label> · <a href="?format=json">JSON</a> · <a href="?format=text">text</a> · <a href="?stacks=open">all stacks</a>
<span id="status"></span></p>
</header>
<main id="primitives">{{template "primitives" .}}</main>
<script>
(function () {
  var main = document.getElementById("primitives"), pause = document.getElementById("pause"),
      status = document.getElementById("status"), n = 0;
  function refresh() {
    if (pause.checked) return;
    var open = Array.prototype.map.call(document.querySelectorAll("details[open]"), function (d) { return d.id; });
    var q = new URLSearchParams(location.search);
    q.set("format", "fragment");
    fetch(location.pathname + "?" + q.toString(), {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      return r.text();
    }).then(function (html) {
      main.innerHTML = html;
      open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      document.body.dataset.refreshes = String(++n);
      status.textContent = "";
    }).catch(function (e) {
      status.textContent = " · refresh failed: " + e.message;
    });
  }
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
{{define "primitives"}}<p class="summary">{{len .Prims}} tracked {{plural (len .Prims) "primitive" "primitives"}} · {{.Waiting}} waiting
{{- with .Stranded}} · <span class="stranded">{{.}} stranded {{plural . "grant" "grants"}}</span>{{end}} · as of <span id="stamp">{{.At.Format "15:04:05.000"}}</span></p>
{{- range .Prims}}{{$p := .}}
<section id="p{{.ID}}" class="{{if .Stranded}}stranded{{else if .Waiting}}waited{{else if .Held}}held{{end}}">
<h2><span class="kind">{{.Kind}}</span>{{.Name}}
{{- with .State}} <span class="badge{{if $p.Held}} held{{end}}">{{.}}</span>{{end}}
{{- if .Waiting}} <span class="badge waiting">{{.Waiting}} waiting · oldest {{age .OldestWait}}</span>{{end}}
{{- if .Unreceived}} <span class="badge held">{{.Unreceived}} unreceived</span>{{end}}
{{- if .Stranded}} <span class="badge stranded">{{.Stranded}} stranded</span>{{end}}</h2>
<p class="counts">#{{.ID}}{{with value .}} · value {{.}}{{end}} · {{counts .}}</p>
{{- if or .Holders .Waiters}}
<table>
<thead><tr><th></th><th>age</th><th>what</th><th>status</th><th>called from</th></tr></thead>
<tbody>
{{- $id := .ID}}
{{- range $i, $h := .Holders}}
<tr class="holder"><td class="role">holder</td><td class="age">{{age .Age}}</td><td class="what">{{.Ask}}</td>
<td class="status">{{if .Unreceived}}sent, not received{{if not .CanEnd}} · ctx cannot end{{end}}{{else}}held{{end}}{{if .Stranded}} · <span class="warn">STRANDED</span>{{end}}</td>
<td>{{if .Stack}}<details id="p{{$id}}-h{{$i}}"{{if $.Open}} open{{end}}><summary>{{caller .Stack}}</summary><pre>{{stack .Stack}}</pre></details>{{else}}<span class="empty">not tracked at the call</span>{{end}}</td></tr>
{{- end}}
{{- range $i, $w := .Waiters}}
<tr class="waiter"><td class="role">waiter</td><td class="age">{{age .Age}}</td><td class="what">{{.Ask}}</td>
<td class="status">waiting{{if not .CanEnd}} · ctx cannot end{{end}}</td>
<td>{{if .Stack}}<details id="p{{$id}}-w{{$i}}"{{if $.Open}} open{{end}}><summary>{{caller .Stack}}</summary><pre>{{stack .Stack}}</pre></details>{{else}}<span class="empty">not tracked at the call</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if gt .Waiting (len .Waiters)}}<p class="counts">… and {{.Waiting}} waiting in all</p>{{end}}
{{- else}}
<p class="empty">nobody holds it, nobody waits</p>
{{- end}}
</section>
{{- else}}
<p class="empty">Nothing is tracked. Call chans.Track(p, "name") or chans.TrackAll(true), or run with TURNSTILE_TRACK=1.</p>
{{- end}}
{{end}}`
