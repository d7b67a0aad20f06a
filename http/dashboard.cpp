// The page's contract with its browser test (tests/node/dashboard_test.cpp):
//   table#products, one tr[data-product=<id>] per product, td[data-field=stock|available|
//   reserved|sold] holding the numbers of its last poll; #store, #nats, #outbox-lag;
//   canvas#orders-per-second, #order-latency, #units, each with data-points = the points its
//   first series holds; body[data-updates] = polls applied so far. In cluster mode (GET
//   /cluster answers) section#cluster shows, table#partitions, one tr[data-partition=<p>] per
//   partition with td[data-field=owner|epoch|log-leader|log-last-seq|here], and the nodes.
#include "http/dashboard.hpp"

#include <fstream>
#include <mutex>
#include <sstream>

namespace flashsale {

namespace {

const char* const page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flashsale: live sale</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin: 0 0 .3em; }
  .status span { font-weight: 600; margin-right: 1.2em; }
  .ok { color: #1b7a2a; } .bad { color: #b3261e; }
  table { border-collapse: collapse; margin: 1em 0; }
  th, td { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 1.5em; }
  .chart { height: 260px; }
</style>
</head>
<body data-updates="0">
<h1>flashsale: live sale</h1>
<div class="status">
  event store <span id="store">?</span>
  NATS <span id="nats">?</span>
  outbox lag <span id="outbox-lag">?</span>
  updated <span id="updated">never</span>
</div>
<table id="products">
  <thead><tr><th>product</th><th>stock</th><th>available</th><th>reserved</th><th>sold</th></tr></thead>
  <tbody></tbody>
</table>
<section id="cluster" hidden>
  <h2>cluster: partitions, owners and log leaders (asked of <span id="cluster-node">?</span>)</h2>
  <table id="partitions">
    <thead><tr><th>partition</th><th>owner</th><th>epoch</th><th>log leader</th><th>log last seq</th><th>served by this node</th></tr></thead>
    <tbody></tbody>
  </table>
  <div>nodes: <span id="cluster-nodes">?</span></div>
</section>
<div class="charts">
  <div><h2>orders per second, by outcome</h2><div class="chart"><canvas id="orders-per-second" data-points="0"></canvas></div></div>
  <div><h2>POST /orders latency (ms)</h2><div class="chart"><canvas id="order-latency" data-points="0"></canvas></div></div>
  <div><h2>units per product</h2><div class="chart"><canvas id="units" data-points="0"></canvas></div></div>
</div>
<script src="/dashboard/chart.js"></script>
<script>
'use strict';
const keep = 60; // points on the time charts: the last minute
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const base = { animation: false, responsive: true, maintainAspectRatio: false };

const ordersChart = new Chart(document.getElementById('orders-per-second'), {
  type: 'line', data: { labels: [], datasets: [] },
  options: { ...base, scales: { y: { beginAtZero: true, title: { display: true, text: 'orders/s' } } } } });
const latencyChart = new Chart(document.getElementById('order-latency'), {
  type: 'line',
  data: { labels: [], datasets: [
    { label: 'p50', data: [], borderColor: palette[0], backgroundColor: palette[0] },
    { label: 'p99', data: [], borderColor: palette[1], backgroundColor: palette[1] }] },
  options: { ...base, scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } } });
const unitsChart = new Chart(document.getElementById('units'), {
  type: 'bar',
  data: { labels: [], datasets: [
    { label: 'available', data: [], backgroundColor: '#2ca02c' },
    { label: 'reserved', data: [], backgroundColor: '#ff7f0e' },
    { label: 'sold', data: [], backgroundColor: '#1f77b4' }] },
  options: { ...base, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });

// Prometheus text format 0.0.4, as far as /metrics writes it.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = line.match(/^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const p of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ name: m[1], labels, value: parseFloat(m[3]) });
  }
  return out;
}

// The q-quantile of a histogram given as cumulative counts per upper bound (ascending), as
// PromQL's histogram_quantile does: linear within the bucket that holds it.
function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0, lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!isFinite(b.le)) return lowerBound;
      const inBucket = b.count - lowerCount;
      return lowerBound + (b.le - lowerBound) * (inBucket > 0 ? (rank - lowerCount) / inBucket : 0);
    }
    lowerBound = b.le; lowerCount = b.count;
  }
  return lowerBound;
}

let previous = null; // the last scrape: {at, outcomes: {name: count}, buckets: {le: count}}
let updates = 0;

function push(chart, label, values) {
  chart.data.labels.push(label);
  chart.data.datasets.forEach((d, i) => d.data.push(values[i] ?? null));
  while (chart.data.labels.length > keep) {
    chart.data.labels.shift();
    chart.data.datasets.forEach(d => d.data.shift());
  }
}

function setText(id, text, good) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (good !== undefined) el.className = good ? 'ok' : 'bad';
}

function showProducts(products) {
  const body = document.querySelector('#products tbody');
  body.replaceChildren();
  for (const p of products) {
    const tr = document.createElement('tr');
    tr.dataset.product = p.product_id;
    for (const field of ['product_id', 'stock', 'available', 'reserved', 'sold']) {
      const td = document.createElement('td');
      td.textContent = p[field];
      if (field !== 'product_id') td.dataset.field = field;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  unitsChart.data.labels = products.map(p => p.product_id);
  unitsChart.data.datasets[0].data = products.map(p => p.available);
  unitsChart.data.datasets[1].data = products.map(p => p.reserved);
  unitsChart.data.datasets[2].data = products.map(p => p.sold);
  unitsChart.update();
  document.getElementById('units').dataset.points = products.length;
}

function showRates(metrics, at) {
  const outcomes = {}, buckets = {};
  for (const m of metrics) {
    if (m.name === 'flashsale_orders_total') outcomes[m.labels.outcome] = m.value;
    if (m.name === 'flashsale_http_request_duration_seconds_bucket' && m.labels.route === '/orders'
        && m.labels.method === 'POST') {
      const le = m.labels.le === '+Inf' ? Infinity : parseFloat(m.labels.le);
      buckets[le] = (buckets[le] || 0) + m.value; // summed over statuses
    }
  }
  const label = new Date(at).toLocaleTimeString([], { hour12: false });
  if (previous) {
    const dt = Math.max(0.001, (at - previous.at) / 1000);
    for (const name of Object.keys(outcomes)) {
      if (!ordersChart.data.datasets.some(d => d.label === name)) {
        const color = palette[ordersChart.data.datasets.length % palette.length];
        ordersChart.data.datasets.push({ label: name, borderColor: color, backgroundColor: color,
          data: ordersChart.data.labels.map(() => null) });
      }
    }
    push(ordersChart, label, ordersChart.data.datasets.map(d =>
      Math.max(0, ((outcomes[d.label] || 0) - (previous.outcomes[d.label] || 0)) / dt)));
    const delta = Object.keys(buckets).map(Number).sort((a, b) => a - b)
      .map(le => ({ le, count: buckets[le] - (previous.buckets[le] || 0) }));
    const ms = q => { const v = quantile(q, delta); return v === null ? null : v * 1000; };
    push(latencyChart, label, [ms(0.5), ms(0.99)]);
    ordersChart.update();
    latencyChart.update();
  }
  previous = { at, outcomes, buckets };
  document.getElementById('orders-per-second').dataset.points =
    ordersChart.data.datasets.length ? ordersChart.data.datasets[0].data.length : 0;
  document.getElementById('order-latency').dataset.points = latencyChart.data.datasets[0].data.length;
}

function showCluster(view) {
  const section = document.getElementById('cluster');
  if (!view) { section.hidden = true; return; }
  section.hidden = false;
  document.getElementById('cluster-node').textContent = view.node;
  const body = document.querySelector('#partitions tbody');
  body.replaceChildren(...view.partitions.map(p => {
    const tr = document.createElement('tr');
    tr.dataset.partition = p.partition;
    const cells = [['partition', p.partition], ['owner', p.owner === null ? '(free)' : p.owner],
                   ['epoch', p.epoch], ['log-leader', p.log_leader || '(electing)'],
                   ['log-last-seq', p.log_last_seq], ['here', p.served_here ? 'yes' : '']];
    for (const [field, value] of cells) {
      const td = document.createElement('td');
      td.dataset.field = field;
      td.textContent = String(value);
      tr.appendChild(td);
    }
    return tr;
  }));
  document.getElementById('cluster-nodes').textContent = view.nodes.map(n =>
    n.node + (n.address ? ' (' + n.address + ')' : '')).join(', ');
}

async function poll() {
  try {
    const [products, health, metrics, cluster] = await Promise.all([
      fetch('/products').then(r => r.json()),
      fetch('/health').then(r => r.json()),
      fetch('/metrics').then(r => r.text()),
      fetch('/cluster').then(r => r.ok ? r.json() : null)]);
    showCluster(cluster);
    const at = Date.now();
    showProducts(products.products);
    setText('store', health.event_store, health.event_store === 'ok');
    setText('nats', health.nats, health.nats !== 'disconnected');
    setText('outbox-lag', String(health.outbox_lag), health.outbox_lag < 1000);
    showRates(parseMetrics(metrics), at);
    setText('updated', new Date(at).toLocaleTimeString([], { hour12: false }));
    document.body.dataset.updates = ++updates;
  } catch (e) {
    setText('updated', 'failed: ' + e, false);
  }
}

poll();
setInterval(poll, 1000);
</script>
</body>
</html>
)html";

} // namespace

const std::string& dashboard_html() {
  static const std::string html = page;
  return html;
}

const std::string& chart_js() {
  static std::once_flag once;
  static std::string text;
  std::call_once(once, [] {
    std::ifstream in(chart_js_path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  });
  return text;
}

} // namespace flashsale
