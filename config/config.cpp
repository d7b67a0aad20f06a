#include "config/config.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

extern char** environ;

namespace flashsale {

namespace {

using json = nlohmann::json;

enum class kind { string, integer, number, boolean };

/// One row per key: its type, its allowed range and where it lands in node_config.
/// This table is the whole schema; defaults live in config/flashsale.json.
struct key_spec {
  const char* key;
  kind type;
  double min = 0;
  double max = 0;
  /// Extra validation for strings; returns an error text or "" when fine.
  std::function<std::string(const std::string&)> check_string;
  std::function<void(node_config&, const json&)> assign;
};

std::string one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  for (auto a : allowed)
    if (v == a)
      return "";
  std::string all;
  for (auto a : allowed)
    all += (all.empty() ? "" : ", ") + std::string("\"") + a + "\"";
  return "expected one of " + all;
}

std::string non_empty(const std::string& v) {
  return v.empty() ? "expected a non-empty string" : "";
}

const std::vector<key_spec>& schema() {
  static const std::vector<key_spec> specs = {
      {"data_dir", kind::string, 0, 0, non_empty,
       [](node_config& c, const json& v) { c.data_dir = v.get<std::string>(); }},
      {"http.host", kind::string, 0, 0, non_empty,
       [](node_config& c, const json& v) { c.http.host = v.get<std::string>(); }},
      {"http.port", kind::integer, 0, 65535, nullptr,
       [](node_config& c, const json& v) { c.http.port = v.get<int>(); }},
      {"http.front", kind::string, 0, 0,
       [](const std::string& v) {
         return one_of(v, {"embedded", "none"});
       },
       [](node_config& c, const json& v) { c.http.front = v.get<std::string>(); }},
      {"http.tls.cert_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.http.tls_cert_file = v.get<std::string>(); }},
      {"http.tls.key_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.http.tls_key_file = v.get<std::string>(); }},
      {"http.threads", kind::integer, 0, 4096, nullptr,
       [](node_config& c, const json& v) { c.http.threads = v.get<int>(); }},
      {"http.max_body_bytes", kind::integer, 1, 64.0 * 1024 * 1024, nullptr,
       [](node_config& c, const json& v) { c.http.max_body_bytes = v.get<std::int64_t>(); }},
      {"http.shed_after_ms", kind::integer, 0, 3600.0 * 1000, nullptr,
       [](node_config& c, const json& v) { c.http.shed_after_ms = v.get<std::int64_t>(); }},
      {"store.sync", kind::string, 0, 0,
       [](const std::string& v) {
         return one_of(v, {"full", "normal"});
       },
       [](node_config& c, const json& v) { c.store.sync = v.get<std::string>(); }},
      {"store.snapshot_every", kind::integer, 0, 1e12, nullptr,
       [](node_config& c, const json& v) { c.store.snapshot_every = v.get<std::int64_t>(); }},
      {"nats.url", kind::string, 0, 0,
       [](const std::string& v) -> std::string {
         if (v == "embedded" || v == "off" || v.rfind("nats://", 0) == 0)
           return "";
         return "expected \"embedded\", \"off\" or a nats://host:port URL";
       },
       [](node_config& c, const json& v) { c.nats.url = v.get<std::string>(); }},
      {"nats.stream_max_age_hours", kind::integer, 1, 10 * 365 * 24, nullptr,
       [](node_config& c, const json& v) { c.nats.stream_max_age_hours = v.get<std::int64_t>(); }},
      {"nats.duplicate_window_seconds", kind::integer, 1, 10LL * 365 * 24 * 3600, nullptr,
       [](node_config& c, const json& v) {
         c.nats.duplicate_window_seconds = v.get<std::int64_t>();
       }},
      {"nats.publish_window", kind::integer, 1, 65536, nullptr,
       [](node_config& c, const json& v) { c.nats.publish_window = v.get<int>(); }},
      {"nats.creds_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.creds_file = v.get<std::string>(); }},
      {"nats.user", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.user = v.get<std::string>(); }},
      {"nats.password", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.password = v.get<std::string>(); }},
      {"nats.token", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.token = v.get<std::string>(); }},
      {"nats.tls.ca_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.tls_ca_file = v.get<std::string>(); }},
      {"nats.tls.cert_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.tls_cert_file = v.get<std::string>(); }},
      {"nats.tls.key_file", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.nats.tls_key_file = v.get<std::string>(); }},
      {"cluster.enabled", kind::boolean, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.cluster.enabled = v.get<bool>(); }},
      {"cluster.node_id", kind::string, 0, 0,
       [](const std::string& v) -> std::string {
         for (unsigned char ch : v)
           if (!std::isalnum(ch) && ch != '-' && ch != '_')
             return "expected letters, digits, '-' and '_' only";
         return v.size() > 64 ? "expected at most 64 characters" : "";
       },
       [](node_config& c, const json& v) { c.cluster.node_id = v.get<std::string>(); }},
      {"cluster.partitions", kind::integer, 1, 4096, nullptr,
       [](node_config& c, const json& v) { c.cluster.partitions = v.get<int>(); }},
      {"cluster.lease_ms", kind::integer, 200, 600000, nullptr,
       [](node_config& c, const json& v) { c.cluster.lease_ms = v.get<std::int64_t>(); }},
      {"cluster.replicas", kind::integer, 1, 5, nullptr,
       [](node_config& c, const json& v) { c.cluster.replicas = v.get<int>(); }},
      {"orders.hold_seconds", kind::integer, 1, 7 * 24 * 3600, nullptr,
       [](node_config& c, const json& v) { c.orders.hold_seconds = v.get<std::int64_t>(); }},
      {"rate_limit.per_user_per_second", kind::number, 0, 1e6, nullptr,
       [](node_config& c, const json& v) { c.rate_limit.per_user_per_second = v.get<double>(); }},
      {"rate_limit.per_address_per_second", kind::number, 0, 1e6, nullptr,
       [](node_config& c, const json& v) {
         c.rate_limit.per_address_per_second = v.get<double>();
       }},
      {"rate_limit.burst", kind::integer, 1, 1e6, nullptr,
       [](node_config& c, const json& v) { c.rate_limit.burst = v.get<std::int64_t>(); }},
      {"actors.threads", kind::integer, 0, 256, nullptr,
       [](node_config& c, const json& v) { c.actors.threads = v.get<int>(); }},
      {"actors.policy", kind::string, 0, 0,
       [](const std::string& v) {
         return one_of(v, {"sharing", "stealing"});
       },
       [](node_config& c, const json& v) { c.actors.policy = v.get<std::string>(); }},
      {"admin_token", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.admin_token = v.get<std::string>(); }},
      {"payments.webhook_secret", kind::string, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.payments.webhook_secret = v.get<std::string>(); }},
      {"payments.simulator.enabled", kind::boolean, 0, 0, nullptr,
       [](node_config& c, const json& v) { c.payments.simulator.enabled = v.get<bool>(); }},
      {"payments.simulator.latency_ms", kind::integer, 0, 3600 * 1000, nullptr,
       [](node_config& c, const json& v) {
         c.payments.simulator.latency_ms = v.get<std::int64_t>();
       }},
      {"payments.simulator.success_rate", kind::number, 0, 1, nullptr,
       [](node_config& c, const json& v) { c.payments.simulator.success_rate = v.get<double>(); }},
      {"payments.simulator.workers", kind::integer, 1, 64, nullptr,
       [](node_config& c, const json& v) { c.payments.simulator.workers = v.get<int>(); }},
      {"payments.simulator.max_deliver", kind::integer, 1, 1000, nullptr,
       [](node_config& c, const json& v) { c.payments.simulator.max_deliver = v.get<int>(); }},
  };
  return specs;
}

/// Keys whose values are secrets: an error about one never shows the value.
bool is_secret(const std::string& key) {
  return key == "admin_token" || key == "payments.webhook_secret" || key == "nats.password"
         || key == "nats.token";
}

/// `value` as an error message may show it.
std::string shown(const key_spec& spec, const json& value) {
  return is_secret(spec.key) ? "(" + std::string(value.type_name()) + ", hidden)" : value.dump();
}

const key_spec* find_spec(const std::string& key) {
  for (auto& s : schema())
    if (key == s.key)
      return &s;
  return nullptr;
}

std::string describe(const key_spec& s) {
  std::ostringstream out;
  switch (s.type) {
  case kind::string:
    out << "a string";
    break;
  case kind::boolean:
    out << "true or false";
    break;
  case kind::integer:
    out << "an integer " << static_cast<long long>(s.min) << ".." << static_cast<long long>(s.max);
    break;
  case kind::number:
    out << "a number " << s.min << ".." << s.max;
    break;
  }
  return out.str();
}

std::string error(const std::string& key, const std::string& source, const std::string& what) {
  return "config: " + key + " (from " + source + "): " + what;
}

/// Validates `value` for `spec`; returns "" when it fits.
std::string validate(const key_spec& spec, const json& value) {
  bool type_ok = false;
  switch (spec.type) {
  case kind::string:
    type_ok = value.is_string();
    break;
  case kind::boolean:
    type_ok = value.is_boolean();
    break;
  case kind::integer:
    type_ok = value.is_number_integer();
    break;
  case kind::number:
    type_ok = value.is_number();
    break;
  }
  if (!type_ok)
    return "expected " + describe(spec) + ", got " + shown(spec, value);
  if (spec.type == kind::integer || spec.type == kind::number) {
    double v = value.get<double>();
    if (v < spec.min || v > spec.max || std::isnan(v))
      return "expected " + describe(spec) + ", got " + shown(spec, value);
  }
  if (spec.type == kind::string && spec.check_string) {
    auto problem = spec.check_string(value.get<std::string>());
    if (!problem.empty())
      return problem + ", got " + shown(spec, value);
  }
  return "";
}

/// Text from the environment or a flag, read as the key's type. Integers must be exact.
std::variant<json, std::string> from_text(const key_spec& spec, const std::string& text) {
  switch (spec.type) {
  case kind::string:
    return json(text);
  case kind::boolean:
    if (text == "true" || text == "1")
      return json(true);
    if (text == "false" || text == "0")
      return json(false);
    break;
  case kind::integer: {
    if (text.empty())
      break;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0' && !std::isspace(static_cast<unsigned char>(text[0])))
      return json(v);
    break;
  }
  case kind::number: {
    if (text.empty())
      break;
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (errno == 0 && end && *end == '\0' && std::isfinite(v)
        && !std::isspace(static_cast<unsigned char>(text[0])))
      return json(v);
    break;
  }
  }
  return "expected " + describe(spec) + ", got "
         + (is_secret(spec.key) ? std::string("(hidden)") : "\"" + text + "\"");
}

/// Walks a parsed file, validating and applying every leaf; objects are sections.
std::string apply_tree(node_config& config, const json& tree, const std::string& prefix,
                       const std::string& source) {
  for (auto& [name, value] : tree.items()) {
    std::string key = prefix.empty() ? name : prefix + "." + name;
    if (auto spec = find_spec(key)) {
      if (auto problem = validate(*spec, value); !problem.empty())
        return error(key, source, problem);
      spec->assign(config, value);
    } else if (value.is_object()) {
      bool is_section = false;
      for (auto& s : schema())
        if (std::string(s.key).rfind(key + ".", 0) == 0)
          is_section = true;
      if (!is_section)
        return error(key, source, "unknown key");
      if (auto problem = apply_tree(config, value, key, source); !problem.empty())
        return problem;
    } else {
      return error(key, source, "unknown key");
    }
  }
  return "";
}

std::string apply_text(node_config& config, const std::string& key, const std::string& text,
                       const std::string& source) {
  auto spec = find_spec(key);
  if (spec == nullptr)
    return error(key, source, "unknown key");
  auto value = from_text(*spec, text);
  if (auto problem = std::get_if<std::string>(&value))
    return error(key, source, *problem);
  auto& v = std::get<json>(value);
  if (auto problem = validate(*spec, v); !problem.empty())
    return error(key, source, problem);
  spec->assign(config, v);
  return "";
}

std::variant<json, std::string> parse_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return "config: cannot read file '" + path + "'";
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto tree = json::parse(text.str());
    if (!tree.is_object())
      return "config: file '" + path + "' must hold a JSON object";
    return tree;
  } catch (const json::parse_error& e) {
    return "config: file '" + path + "' is not valid JSON: " + e.what();
  }
}

/// Across the nats.* credential and TLS keys: one way to authenticate, pairs complete, and
/// only for a server of one's own (the embedded one runs on loopback without either).
std::string check_nats_security(const node_config& config) {
  const auto& n = config.nats;
  const std::pair<const char*, const std::string*> keys[] = {
      {"nats.creds_file", &n.creds_file},    {"nats.user", &n.user},
      {"nats.password", &n.password},        {"nats.token", &n.token},
      {"nats.tls.ca_file", &n.tls_ca_file},  {"nats.tls.cert_file", &n.tls_cert_file},
      {"nats.tls.key_file", &n.tls_key_file}};
  for (auto& [key, value] : keys)
    if (!value->empty() && n.url.rfind("nats://", 0) != 0)
      return "config: " + std::string(key)
             + ": credentials and TLS are for a nats://host:port "
               "server, but nats.url is \""
             + n.url + "\""
             + (n.url == "embedded" ? " (the embedded nats-server listens on loopback only and "
                                      "takes neither; point nats.url at your own server)"
                                    : "");
  if (n.user.empty() != n.password.empty())
    return std::string("config: ") + (n.user.empty() ? "nats.user" : "nats.password")
           + ": nats.user and nats.password go together (the password may come from "
             "FLASHSALE_NATS_PASSWORD)";
  int ways = !n.creds_file.empty() + !n.user.empty() + !n.token.empty();
  if (ways > 1)
    return std::string("config: ") + (n.creds_file.empty() ? "nats.token" : "nats.creds_file")
           + ": set one of nats.creds_file, nats.user/nats.password and nats.token, not several";
  if (n.tls_cert_file.empty() != n.tls_key_file.empty())
    return std::string("config: ")
           + (n.tls_cert_file.empty() ? "nats.tls.cert_file" : "nats.tls.key_file")
           + ": a client certificate needs both nats.tls.cert_file and nats.tls.key_file";
  return "";
}

} // namespace

std::string env_name_of(const std::string& key) {
  std::string name = "FLASHSALE_";
  for (char c : key)
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (auto& s : schema())
    keys.emplace_back(s.key);
  return keys;
}

std::vector<std::pair<std::string, std::string>> flashsale_environment() {
  std::vector<std::pair<std::string, std::string>> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (entry.rfind("FLASHSALE_", 0) == 0 && eq != std::string::npos)
      vars.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return vars;
}

std::variant<node_config, std::string> load_config(const config_sources& sources) {
  node_config config;
  auto defaults = json::parse(default_config_json());
  if (auto problem = apply_tree(config, defaults, "", "defaults"); !problem.empty())
    return problem;
  if (!sources.file.empty()) {
    auto tree = parse_file(sources.file);
    if (auto problem = std::get_if<std::string>(&tree))
      return *problem;
    auto problem = apply_tree(config, std::get<json>(tree), "", "file " + sources.file);
    if (!problem.empty())
      return problem;
  }
  for (auto& [name, value] : sources.env) {
    const key_spec* spec = nullptr;
    for (auto& s : schema())
      if (env_name_of(s.key) == name)
        spec = &s;
    if (spec == nullptr)
      return "config: " + name + " (from environment): unknown key";
    if (auto problem = apply_text(config, spec->key, value, "environment " + name);
        !problem.empty())
      return problem;
  }
  for (auto& assignment : sources.sets) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      return "config: --set " + assignment + ": expected key=value";
    auto problem = apply_text(config, assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
    if (!problem.empty())
      return problem;
  }
  // Across keys: TLS is terminated by the edge, and needs both files.
  if (config.http.tls_cert_file.empty() != config.http.tls_key_file.empty())
    return std::string("config: http.tls.")
           + (config.http.tls_cert_file.empty() ? "cert_file" : "key_file")
           + ": both http.tls.cert_file and http.tls.key_file are needed for HTTPS";
  if (!config.http.tls_cert_file.empty() && config.http.front != "embedded")
    return std::string("config: http.tls.cert_file: HTTPS is served by the edge; "
                       "set http.front to \"embedded\" (or terminate TLS in your own balancer)");
  // Across keys: cluster mode needs a node id and a NATS cluster of its own to lease from.
  if (config.cluster.enabled) {
    if (config.cluster.node_id.empty())
      return std::string("config: cluster.node_id: required when cluster.enabled is true "
                         "(unique in the cluster)");
    if (config.nats.url.rfind("nats://", 0) != 0)
      return std::string("config: nats.url: cluster mode needs the NATS cluster's servers "
                         "(nats://host:port[,nats://host:port...]), not \"")
             + config.nats.url + "\"";
    if (config.payments.simulator.enabled)
      return std::string("config: payments.simulator.enabled: not available in cluster mode; "
                         "run `flashsale pay-sim` beside the nodes");
  }
  if (auto problem = check_nats_security(config); !problem.empty())
    return problem;
  // Across keys: JetStream rejects a de-dup window longer than the stream keeps messages.
  if (config.nats.duplicate_window_seconds > config.nats.stream_max_age_hours * 3600)
    return "config: nats.duplicate_window_seconds: "
           + std::to_string(config.nats.duplicate_window_seconds)
           + " s must not exceed nats.stream_max_age_hours ("
           + std::to_string(config.nats.stream_max_age_hours) + " h)";
  return config;
}

} // namespace flashsale
