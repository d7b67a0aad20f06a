// Everything that comes from the node (error codes in the totals) is HTML-escaped, and the
// embedded JSON has "</" escaped, so a hostile answer cannot close the <script> element.
#include "cli/load/html_report.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace flashsale::load {

namespace {

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string script_safe(std::string json) {
  for (size_t pos = 0; (pos = json.find("</", pos)) != std::string::npos; pos += 3)
    json.replace(pos, 2, "<\\/");
  return json;
}

/// The histogram re-binned to 10 log-spaced bins per decade, as [low_ms, high_ms, count].
nlohmann::json histogram_bins(const latency_histogram& h) {
  std::map<int, std::uint64_t> bins;
  for (auto& b : h.buckets()) {
    double mid = std::max(1.0, (b.low + b.high) / 2.0);
    bins[static_cast<int>(std::floor(std::log10(mid) * 10))] += b.count;
  }
  nlohmann::json out = nlohmann::json::array();
  if (bins.empty())
    return out;
  for (int i = bins.begin()->first; i <= bins.rbegin()->first; ++i) {
    auto it = bins.find(i);
    out.push_back({std::pow(10.0, i / 10.0) / 1000.0, std::pow(10.0, (i + 1) / 10.0) / 1000.0,
                   it == bins.end() ? 0 : it->second});
  }
  return out;
}

const char* const style = R"(
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f4f4f4;text-align:left}.pass{color:#070;font-weight:bold}.fail{color:#b00;font-weight:bold}
.chart{position:relative;height:300px;width:900px})";

// Both charts from window.REPORT with Chart.js (embedded above it): p50/p99 per 100 ms slice
// on a linear time axis, and the latency histogram re-binned per tenth of a decade; latency
// axes are logarithmic (flash-sale latencies span microseconds to seconds).
const char* const script = R"(
(function(){
var R=window.REPORT,base={animation:false,responsive:true,maintainAspectRatio:false};
function ms(v){return v>=1?(+v.toPrecision(3))+' ms':(+(v*1000).toPrecision(3))+' us';}
var tl=R.timeline,over=document.getElementById('latency-over-time');
new Chart(over,{type:'line',data:{datasets:[
  {label:'p50',borderColor:'#1f77b4',backgroundColor:'#1f77b4',pointRadius:0,data:tl.map(function(p){return {x:p[0]+0.05,y:Math.max(p[2],0.001)};})},
  {label:'p99',borderColor:'#d62728',backgroundColor:'#d62728',pointRadius:0,data:tl.map(function(p){return {x:p[0]+0.05,y:Math.max(p[3],0.001)};})}]},
  options:Object.assign({},base,{scales:{
    x:{type:'linear',title:{display:true,text:'send time since the first order (s), 100 ms slices'}},
    y:{type:'logarithmic',title:{display:true,text:'latency'},ticks:{callback:function(v){
      var m=v/Math.pow(10,Math.floor(Math.log10(v)+1e-9));return (Math.abs(m-1)<1e-6||Math.abs(m-2)<1e-6||Math.abs(m-5)<1e-6)?ms(v):'';}}}}})});
over.setAttribute('data-points',tl.length);
var bins=R.histogram,hist=document.getElementById('latency-histogram');
new Chart(hist,{type:'bar',data:{labels:bins.map(function(b){return ms(b[0]);}),
  datasets:[{label:'requests',backgroundColor:'#1f77b4',data:bins.map(function(b){return b[2];})}]},
  options:Object.assign({},base,{plugins:{legend:{display:false}},scales:{
    x:{title:{display:true,text:'latency (lower bound of each bin; 10 bins per decade)'}},
    y:{beginAtZero:true,title:{display:true,text:'requests'}}}})});
hist.setAttribute('data-points',bins.length);
document.body.setAttribute('data-charts','drawn');
})();)";

/// Chart.js from Debian's libjs-chart.js, embedded so the page opens offline and from CI
/// artifacts; empty when the package is missing.
std::string chart_js() {
  std::ifstream in("/usr/share/javascript/chart.js/chart.min.js", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void row(std::ostringstream& o, const std::string& name, const std::string& value) {
  o << "<tr><th>" << escape_html(name) << "</th><td>" << escape_html(value) << "</td></tr>\n";
}

} // namespace

std::string html_report(const run_result& r, const verdict& v, const std::string& chart) {
  auto j = json_report(r, v);
  nlohmann::json data{{"timeline", j["timeline"]}, {"histogram", histogram_bins(r.latency)}};
  std::ostringstream o;
  const auto& lat = j["latency_ms"];
  auto num = [](const nlohmann::json& x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x.get<double>());
    return std::string(buf);
  };
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<title>flashsale load report</title><style>" << style << "</style></head><body>\n"
    << "<h1>flashsale load report</h1>\n<p>" << escape_html(r.plan.url) << ", product <b>"
    << escape_html(r.plan.product) << "</b>, " << r.plan.buyers << " buyers, "
    << (r.plan.crowd         ? std::string("a crowd, one connection each")
        : r.plan.open_loop() ? std::to_string(r.plan.concurrency) + " connections, open loop at "
                                   + std::to_string(static_cast<long>(r.plan.rate)) + "/s"
                             : std::to_string(r.plan.concurrency) + " connections, closed loop")
    << "</p>\n<h2>Verdict: <span id=\"verdict\" class=\""
    << (v.pass ? "pass\">PASS" : "fail\">FAIL") << "</span></h2>\n<table id=\"checks\">\n";
  for (auto& c : v.checks)
    o << "<tr><th>" << escape_html(c.name) << "</th><td class=\""
      << (c.pass ? "pass\">pass" : "fail\">FAIL") << "</td><td style=\"text-align:left\">"
      << escape_html(c.detail) << "</td></tr>\n";
  o << "</table>\n<h2>Totals</h2>\n<table id=\"totals\">\n";
  row(o, "requests", std::to_string(r.requests));
  row(o, "throughput (req/s)", std::to_string(static_cast<long>(r.throughput())));
  row(o, "accepted", std::to_string(r.accepted));
  row(o, "sold_out", std::to_string(r.sold_out));
  for (auto& [k, n] : r.other_4xx)
    row(o, "4xx " + k, std::to_string(n));
  row(o, "shed (429/503)", std::to_string(r.shed));
  row(o, "errors", std::to_string(r.errors));
  for (auto& [k, n] : r.errors_by)
    row(o, "error " + k, std::to_string(n));
  row(o, "payments applied",
      std::to_string(r.pay_applied) + " of " + std::to_string(r.pay_attempted));
  if (r.crowd) {
    row(o, "crowd: buyers", std::to_string(r.crowd->buyers));
    row(o, "crowd: unanswered", std::to_string(r.crowd->unanswered));
    row(o, "crowd: waited over 1 s", std::to_string(r.crowd->over_1s));
    row(o, "crowd: silent sockets held", std::to_string(r.crowd->idle_sockets));
  }
  o << "</table>\n<h2>Latency (ms)</h2>\n<table id=\"latency\"><tr>";
  for (auto* k : {"p50", "p90", "p99", "p99_9", "max"})
    o << "<th>" << k << "</th>";
  o << "</tr><tr>";
  for (auto* k : {"p50", "p90", "p99", "p99_9", "max"})
    o << "<td>" << num(lat[k]) << "</td>";
  o << "</tr></table>\n"
    << "<h2>Latency over time (p50, p99)</h2>\n"
    << "<div class=\"chart\"><canvas id=\"latency-over-time\"></canvas></div>\n"
    << "<h2>Latency histogram</h2>\n"
    << "<div class=\"chart\"><canvas id=\"latency-histogram\"></canvas></div>\n"
    << "<script>" << chart << "</script>\n"
    << "<script>window.REPORT="
    << script_safe(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    << ";</script>\n"
    << "<script>" << script << "</script>\n</body></html>\n";
  return o.str();
}

std::string write_html_report(const std::string& path, const run_result& r, const verdict& v) {
  auto chart = chart_js();
  if (chart.empty())
    return "cannot embed Chart.js (/usr/share/javascript/chart.js/chart.min.js): "
           "apt-get install libjs-chart.js";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file)
    return "cannot write " + path;
  file << html_report(r, v, chart);
  file.close();
  return file ? std::string{} : "cannot write " + path;
}

} // namespace flashsale::load
