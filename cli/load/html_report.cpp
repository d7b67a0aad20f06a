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
svg{background:#fcfcfc;border:1px solid #ddd}.axis{stroke:#888}.grid{stroke:#eee}
text{font-size:11px;fill:#444}.p50{stroke:#1f77b4;fill:none;stroke-width:1.5}.p99{stroke:#d62728;fill:none;stroke-width:1.5}
.bar{fill:#1f77b4})";

// Draws both charts into the SVG elements from window.REPORT; linear time axis, log latency
// axis (flash-sale latencies span microseconds to seconds).
const char* const script = R"(
(function(){
var R=window.REPORT,NS='http://www.w3.org/2000/svg';
function el(p,n,a,t){var e=document.createElementNS(NS,n);for(var k in a)e.setAttribute(k,a[k]);if(t!==undefined)e.textContent=t;p.appendChild(e);return e;}
function logScale(lo,hi,a,b){lo=Math.log10(lo);hi=Math.log10(hi);if(hi<=lo)hi=lo+1;return function(v){return a+(Math.log10(Math.max(v,1e-3))-lo)/(hi-lo)*(b-a);};}
function yAxis(svg,lo,hi,y,L,W){for(var d=Math.floor(Math.log10(lo));d<=Math.ceil(Math.log10(hi));d++){var v=Math.pow(10,d);if(v<lo/1.01||v>hi*1.01)continue;var yy=y(v);el(svg,'line',{x1:L,x2:W,y1:yy,y2:yy,'class':'grid'});el(svg,'text',{x:L-4,y:yy+4,'text-anchor':'end'},v>=1?v+' ms':(v*1000)+' us');}}
var W=900,H=300,L=70,B=40,T=20;
var svg=document.getElementById('latency-over-time'),tl=R.timeline;
if(tl.length){var lo=1e9,hi=0,tmax=0;tl.forEach(function(p){lo=Math.min(lo,p[2]);hi=Math.max(hi,p[3]);tmax=Math.max(tmax,p[0]+0.1);});
lo=Math.pow(10,Math.floor(Math.log10(Math.max(lo,1e-3))));hi=Math.pow(10,Math.ceil(Math.log10(Math.max(hi,lo*10))));
var y=logScale(lo,hi,H-B,T),x=function(t){return L+t/tmax*(W-L-10);};yAxis(svg,lo,hi,y,L,W);
for(var i=0;i<=10;i++){var t=tmax*i/10;el(svg,'text',{x:x(t),y:H-B+16,'text-anchor':'middle'},t.toFixed(1)+' s');}
['p50','p99'].forEach(function(name,j){el(svg,'polyline',{'class':name,points:tl.map(function(p){return x(p[0]+0.05).toFixed(1)+','+y(p[2+j]).toFixed(1);}).join(' ')});});
el(svg,'text',{x:W-120,y:T+10,style:'fill:#1f77b4'},'p50');el(svg,'text',{x:W-80,y:T+10,style:'fill:#d62728'},'p99');}
el(svg,'line',{x1:L,x2:L,y1:T,y2:H-B,'class':'axis'});el(svg,'line',{x1:L,x2:W,y1:H-B,y2:H-B,'class':'axis'});
el(svg,'text',{x:(W+L)/2,y:H-6,'text-anchor':'middle'},'send time since the first order (100 ms slices)');
var hs=document.getElementById('latency-histogram'),bins=R.histogram;
if(bins.length){var cmax=0;bins.forEach(function(b){cmax=Math.max(cmax,b[2]);});
var hx=logScale(bins[0][0],bins[bins.length-1][1],L,W-10),hy=function(c){return H-B-c/cmax*(H-B-T);};
bins.forEach(function(b){if(b[2]>0)el(hs,'rect',{'class':'bar',x:hx(b[0]),y:hy(b[2]),width:Math.max(1,hx(b[1])-hx(b[0])-1),height:H-B-hy(b[2])},undefined);});
for(var d=Math.ceil(Math.log10(bins[0][0]));d<=Math.floor(Math.log10(bins[bins.length-1][1]));d++){var v=Math.pow(10,d);el(hs,'text',{x:hx(v),y:H-B+16,'text-anchor':'middle'},v>=1?v+' ms':(v*1000)+' us');}
el(hs,'text',{x:L-4,y:T+8,'text-anchor':'end'},String(cmax));}
el(hs,'line',{x1:L,x2:W,y1:H-B,y2:H-B,'class':'axis'});el(hs,'line',{x1:L,x2:L,y1:T,y2:H-B,'class':'axis'});
el(hs,'text',{x:(W+L)/2,y:H-6,'text-anchor':'middle'},'latency (log scale), requests per bin');
document.body.setAttribute('data-charts','drawn');
})();)";

void row(std::ostringstream& o, const std::string& name, const std::string& value) {
  o << "<tr><th>" << escape_html(name) << "</th><td>" << escape_html(value) << "</td></tr>\n";
}

} // namespace

std::string html_report(const run_result& r, const verdict& v) {
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
    << escape_html(r.plan.product) << "</b>, " << r.plan.buyers << " buyers, " << r.plan.concurrency
    << " connections, "
    << (r.plan.open_loop() ? "open loop at " + std::to_string(static_cast<long>(r.plan.rate)) + "/s"
                           : std::string("closed loop"))
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
  o << "</table>\n<h2>Latency (ms)</h2>\n<table id=\"latency\"><tr>";
  for (auto* k : {"p50", "p90", "p99", "p99_9", "max"})
    o << "<th>" << k << "</th>";
  o << "</tr><tr>";
  for (auto* k : {"p50", "p90", "p99", "p99_9", "max"})
    o << "<td>" << num(lat[k]) << "</td>";
  o << "</tr></table>\n"
    << "<h2>Latency over time (p50, p99)</h2>\n"
    << "<svg id=\"latency-over-time\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
       "height=\"300\" viewBox=\"0 0 900 300\"></svg>\n"
    << "<h2>Latency histogram</h2>\n"
    << "<svg id=\"latency-histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
       "height=\"300\" viewBox=\"0 0 900 300\"></svg>\n"
    << "<script>window.REPORT="
    << script_safe(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    << ";</script>\n"
    << "<script>" << script << "</script>\n</body></html>\n";
  return o.str();
}

std::string write_html_report(const std::string& path, const run_result& r, const verdict& v) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file)
    return "cannot write " + path;
  file << html_report(r, v);
  file.close();
  return file ? std::string{} : "cannot write " + path;
}

} // namespace flashsale::load
