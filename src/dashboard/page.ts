/**
 * The dashboard's one page: HTML, CSS and script inline, no CDN, no framework. The worker machine
 * is drawn once by `toSVG` into a template; the script clones it per worker, lights the current
 * state (`.state.active`), flashes each transition as the feed reports it (`.transition.fired`),
 * and shows the pool's state, queue, latencies, restarts and the last crash with its stderr tail.
 * @module
 */
import { toSVG, workerMachine } from "../machines/index.ts"

/** Placeholder for the worker id in the template's element ids. */
const SLOT = "__WORKER__"

const STYLE = `
:root{color-scheme:light;--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f3f5f8;--card:#fff;--hot:#e4572e}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:var(--ink);background:var(--bg)}
header.top{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline;padding:14px 20px;background:var(--ink);color:#fff}
header.top h1{font-size:18px;margin:0 12px 0 0}
.stat{font-variant-numeric:tabular-nums}.stat b{font-weight:600}.stat span{opacity:.7;margin-right:4px}
#pool-state{padding:1px 8px;border-radius:10px;background:#3c8d5a}
#pool-state[data-state=degraded],#pool-state[data-state=starting]{background:#b38600}
#pool-state[data-state=failed],#pool-state[data-state=closed],#pool-state[data-state=draining]{background:var(--hot)}
main{padding:16px 20px;display:grid;gap:16px}
#workers{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
.worker{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.worker header{display:flex;gap:12px;align-items:baseline}
.worker h2{margin:0;font-size:16px}
.worker .state-name{margin-left:auto;font-weight:600;padding:1px 8px;border-radius:10px;background:#ffd84d}
.worker[data-state=crashed] .state-name,.worker[data-state=terminating] .state-name{background:var(--hot);color:#fff}
.worker .machine svg{width:100%;height:auto;max-height:380px}
.worker dl{display:grid;grid-template-columns:repeat(5,auto);gap:2px 10px;margin:6px 0;font-size:12px}
.worker dt{color:var(--muted)}.worker dd{margin:0;font-variant-numeric:tabular-nums}
.worker ol{list-style:none;margin:4px 0 0;padding:0;font:12px ui-monospace,Menlo,monospace;color:var(--muted);max-height:7.5em;overflow:auto}
.controls{display:flex;gap:8px;margin-top:8px}
.controls button{font:inherit;padding:3px 12px;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer}
.controls button[data-action=kill]{border-color:var(--hot);color:var(--hot)}
#crash{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--hot);border-radius:10px;padding:10px 14px}
#crash h2{margin:0 0 4px;font-size:15px}
#crash pre{margin:6px 0 0;padding:8px;background:#1d2330;color:#e9ecf2;border-radius:6px;font-size:12px;max-height:14em;overflow:auto;white-space:pre-wrap}
#status{font-size:12px;color:var(--muted);min-height:1.2em}
.pv-machine .transition.fired path{stroke:var(--hot);stroke-width:3;stroke-dasharray:7 4;animation:pv-flow .6s linear 3}
@keyframes pv-flow{from{stroke-dashoffset:22}to{stroke-dashoffset:0}}
`

/** The browser side: everything it draws comes from the feed; text is set with textContent only. */
const SCRIPT = `
const $ = (s, el = document) => el.querySelector(s)
const template = $("#worker-template").innerHTML
const cards = new Map()
const ms = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(0)) + " ms"
const set = (el, text) => { if (el.textContent !== String(text)) el.textContent = String(text) }
const card = (w, controls) => {
  let el = cards.get(w.id)
  if (el) return el
  const holder = document.createElement("div")
  holder.innerHTML = template.replaceAll(${JSON.stringify(SLOT)}, w.id)
  el = holder.firstElementChild
  el.dataset.worker = w.id
  set($("h2", el), w.id)
  if (!controls) $(".controls", el).remove()
  cards.set(w.id, el)
  $("#workers").append(el)
  return el
}
const render = (v) => {
  const pool = $("#pool-state")
  pool.dataset.state = v.pool
  set(pool, v.pool)
  set($("#queued"), v.queued)
  set($("#p50"), ms(v.metrics.callDurationMs.p50))
  set($("#p99"), ms(v.metrics.callDurationMs.p99))
  set($("#wait99"), ms(v.metrics.checkoutWaitMs.p99))
  set($("#calls"), v.metrics.callDurationMs.count)
  set($("#utilization"), (v.metrics.utilization * 100).toFixed(0) + "%")
  set($("#restarts"), v.workers.reduce((n, w) => n + w.restarts, 0))
  const live = new Set()
  for (const w of v.workers) {
    live.add(w.id)
    const el = card(w, v.controls)
    el.dataset.state = w.state
    el.dataset.pid = w.pid ?? ""
    set($(".state-name", el), w.state)
    set($(".pid", el), w.pid === null ? "no process" : "pid " + w.pid)
    set($(".calls", el), w.calls)
    set($(".inflight", el), w.inFlight)
    set($(".restarts", el), w.restarts)
    set($(".recycled", el), w.recycled)
    set($(".rss", el), w.rss === null ? "–" : (w.rss / 1048576).toFixed(1) + " MiB")
    for (const s of el.querySelectorAll("g.state")) s.classList.toggle("active", s.dataset.state === w.state)
    const list = $("ol.recent", el)
    if (list.dataset.key !== w.recent.join("|")) {
      list.dataset.key = w.recent.join("|")
      list.replaceChildren(...w.recent.map((line) => { const li = document.createElement("li"); li.textContent = line; return li }))
      list.scrollTop = list.scrollHeight
    }
  }
  for (const [id, el] of cards) if (!live.has(id)) { el.remove(); cards.delete(id) }
  const crash = $("#crash")
  crash.hidden = v.lastCrash === null
  if (v.lastCrash) {
    set($(".who", crash), v.lastCrash.workerId + (v.lastCrash.pid === null ? "" : " (pid " + v.lastCrash.pid + ")") + " at " + v.lastCrash.at)
    set($(".message", crash), v.lastCrash.message)
    set($("pre", crash), v.lastCrash.stderrTail.trim() || "(nothing on stderr)")
  }
}
const fire = (t) => {
  const el = cards.get(t.workerId)
  if (!el) return
  for (const s of el.querySelectorAll("g.state")) s.classList.toggle("active", s.dataset.state === t.to)
  const edge = el.querySelector('g.transition[data-source="' + CSS.escape(t.from) + '"][data-target="' + CSS.escape(t.to) + '"]')
  if (!edge) return
  edge.classList.remove("fired")
  void edge.getBoundingClientRect()
  edge.classList.add("fired")
  clearTimeout(edge.pvTimer)
  edge.pvTimer = setTimeout(() => edge.classList.remove("fired"), 1800)
}
const feed = new EventSource("events")
feed.addEventListener("state", (e) => render(JSON.parse(e.data)))
feed.addEventListener("transition", (e) => fire(JSON.parse(e.data)))
feed.addEventListener("open", () => set($("#status"), "live"))
feed.addEventListener("error", () => set($("#status"), "disconnected: retrying…"))
$("#workers").addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-action]")
  if (!button) return
  const id = button.closest(".worker").dataset.worker
  const response = await fetch("workers/" + encodeURIComponent(id) + "/" + button.dataset.action, { method: "POST" })
  const body = await response.json().catch(() => ({}))
  set($("#status"), response.ok ? button.dataset.action + " " + id + ": done" : button.dataset.action + " " + id + ": " + (body.error ?? response.status))
})
`

/**
 * The dashboard page. `title` names the pool in the header; `controls` only decides whether the
 * page says so (the buttons come and go with the feed's `controls`, and the server enforces it).
 *
 * @example
 * ```ts
 * response.end(renderPage({ title: "pyvisor" }))
 * ```
 */
export const renderPage = (options: { readonly title: string }): string => {
  const title = options.title.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
  const machine = toSVG(workerMachine, { idPrefix: `${SLOT}-`, title: "worker machine" })
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>${title}</h1>
  <span class="stat"><span>pool</span><b id="pool-state">…</b></span>
  <span class="stat"><span>queue</span><b id="queued">0</b></span>
  <span class="stat"><span>call p50</span><b id="p50">–</b></span>
  <span class="stat"><span>call p99</span><b id="p99">–</b></span>
  <span class="stat"><span>wait p99</span><b id="wait99">–</b></span>
  <span class="stat"><span>calls</span><b id="calls">0</b></span>
  <span class="stat"><span>busy</span><b id="utilization">–</b></span>
  <span class="stat"><span>restarts</span><b id="restarts">0</b></span>
  <span class="stat" id="status"></span>
</header>
<main>
  <section id="crash" hidden>
    <h2>Last crash: <span class="who"></span></h2>
    <div class="message"></div>
    <pre></pre>
  </section>
  <div id="workers"></div>
</main>
<template id="worker-template"><section class="worker">
  <header><h2></h2><span class="pid"></span><span class="state-name"></span></header>
  <div class="machine">${machine}</div>
  <dl><dt>calls</dt><dt>in flight</dt><dt>restarts</dt><dt>recycled</dt><dt>rss</dt>
  <dd class="calls"></dd><dd class="inflight"></dd><dd class="restarts"></dd><dd class="recycled"></dd><dd class="rss"></dd></dl>
  <ol class="recent"></ol>
  <div class="controls"><button type="button" data-action="kill">kill</button><button type="button" data-action="recycle">recycle</button></div>
</section></template>
<script>${SCRIPT}</script>
</body>
</html>
`
}
