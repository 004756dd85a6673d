#include "llm/catalog.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace chatd::llm {

namespace {

using json = nlohmann::json;

class Problems {
 public:
  void add(std::string line) { lines_.push_back(std::move(line)); }
  bool empty() const { return lines_.empty(); }
  Error error() const {
    std::string detail;
    for (const auto& l : lines_) detail += (detail.empty() ? "" : "\n") + l;
    return fail(Code::invalid_argument, detail);
  }

 private:
  std::vector<std::string> lines_;
};

const std::set<std::string>& known_types() {
  // No "demo": it is never used when a real provider is configured (API.md).
  static const std::set<std::string> types = {"openai", "anthropic", "bedrock"};
  return types;
}

// A string member, or the environment variable a "<key>_env" member names (so the file
// itself need hold no secret).
std::string secret_field(const json& p, const std::string& key, const std::string& where, Problems& problems) {
  if (p.contains(key)) {
    if (!p[key].is_string())
      problems.add(where + ": \"" + key + "\" must be a string");
    else
      return p[key].get<std::string>();
  }
  std::string env_key = key + "_env";
  if (p.contains(env_key)) {
    if (!p[env_key].is_string()) {
      problems.add(where + ": \"" + env_key + "\" must be the name of an environment variable");
      return {};
    }
    auto name = p[env_key].get<std::string>();
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at startup; chatd never sets variables
    const char* value = std::getenv(name.c_str());
    if (!value || !*value)
      problems.add(where + ": environment variable " + name + " (from \"" + env_key + "\") is not set");
    else
      return value;
  }
  return {};
}

std::int64_t int_field(const json& obj, const std::string& key, std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                       const std::string& where, Problems& problems) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    problems.add(where + ": \"" + key + "\" must be an integer from " + std::to_string(lo) + " to " +
                 std::to_string(hi));
    return fallback;
  }
  return v.get<std::int64_t>();
}

double price_field(const json& obj, const std::string& key, const std::string& where, Problems& problems) {
  if (!obj.contains(key)) return 0;
  const auto& v = obj[key];
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e6) {
    problems.add(where + ": \"" + key + "\" must be a non-negative number (USD per million tokens)");
    return 0;
  }
  return v.get<double>();
}

void read_model_details(const json& m, ModelSpec& spec, const std::string& where, Problems& problems) {
  spec.context_window = int_field(m, "context_window", spec.context_window, 256, 100000000, where, problems);
  if (m.contains("max_output_tokens"))
    spec.max_output_tokens = int_field(m, "max_output_tokens", 0, 1, 10000000, where, problems);
  if (m.contains("price")) {
    if (!m["price"].is_object()) {
      problems.add(where + ": \"price\" must be an object {\"prompt_per_million\", \"completion_per_million\"}");
    } else {
      spec.price.prompt_per_million = price_field(m["price"], "prompt_per_million", where, problems);
      spec.price.completion_per_million = price_field(m["price"], "completion_per_million", where, problems);
    }
  }
}

ModelSpec read_model(const json& m, const ModelSpec& defaults, const std::string& where, Problems& problems) {
  ModelSpec spec = defaults;
  if (m.is_string()) {
    spec.id = m.get<std::string>();
  } else if (m.is_object()) {
    if (!m.contains("id") || !m["id"].is_string())
      problems.add(where + ": a model needs an \"id\" string");
    else
      spec.id = m["id"].get<std::string>();
    if (m.contains("upstream_id")) {
      if (!m["upstream_id"].is_string())
        problems.add(where + ": \"upstream_id\" must be a string");
      else
        spec.upstream_id = m["upstream_id"].get<std::string>();
    }
    read_model_details(m, spec, where, problems);
    if (m.contains("fallbacks")) {
      if (!m["fallbacks"].is_array()) problems.add(where + ": \"fallbacks\" must be a list of model ids");
      for (const auto& f : m["fallbacks"]) {
        if (!f.is_string())
          problems.add(where + ": \"fallbacks\" must be a list of model ids");
        else
          spec.fallbacks.push_back(f.get<std::string>());
      }
    }
  } else {
    problems.add(where + ": a model is a string or an object with an \"id\"");
  }
  if (spec.id.empty() || spec.id.size() > 200) problems.add(where + ": a model id must be 1-200 characters");
  if (spec.upstream_id.empty()) spec.upstream_id = spec.id;
  spec.embedding = looks_like_embedding_model(spec.upstream_id);
  if (m.is_object() && m.contains("kind")) {
    if (m["kind"] == "chat") {
      spec.embedding = false;
    } else if (m["kind"] == "embedding") {
      spec.embedding = true;
    } else {
      problems.add(where + ": \"kind\" must be \"chat\" or \"embedding\"");
    }
  }
  if (spec.embedding && !spec.fallbacks.empty())
    problems.add(where + ": an embedding model has no fallbacks (another model's vectors would not compare)");
  return spec;
}

ProviderSpec read_provider(const json& p, std::size_t index, std::int64_t total_ms, Problems& problems) {
  ProviderSpec spec;
  std::string where = "providers[" + std::to_string(index) + "]";
  if (!p.is_object()) {
    problems.add(where + ": must be an object");
    return spec;
  }
  if (!p.contains("type") || !p["type"].is_string() || !known_types().count(p["type"].get<std::string>())) {
    problems.add(where + ": \"type\" must be one of openai, anthropic, bedrock");
  } else {
    spec.type = p["type"].get<std::string>();
  }
  spec.name = p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>() : spec.type;
  if (spec.name.empty()) problems.add(where + ": \"name\" must not be empty");
  where += " (" + spec.name + ")";
  if (p.contains("base_url")) {
    if (!p["base_url"].is_string())
      problems.add(where + ": \"base_url\" must be a string");
    else
      spec.base_url = p["base_url"].get<std::string>();
  }
  if (spec.base_url.empty()) {
    if (spec.type == "openai") spec.base_url = "https://api.openai.com/v1";
    if (spec.type == "anthropic") spec.base_url = "https://api.anthropic.com";
  }
  if (!spec.base_url.empty() && spec.base_url.rfind("http://", 0) != 0 && spec.base_url.rfind("https://", 0) != 0)
    problems.add(where + ": \"base_url\" must start with http:// or https://");
  spec.api_key = secret_field(p, "api_key", where, problems);
  if (p.contains("auth")) {
    if (!p["auth"].is_string() || (p["auth"] != "bearer" && p["auth"] != "api-key"))
      problems.add(where + ": \"auth\" must be \"bearer\" or \"api-key\"");
    else
      spec.auth = p["auth"].get<std::string>();
  }
  if (p.contains("query")) {
    if (!p["query"].is_string())
      problems.add(where + ": \"query\" must be a string such as \"api-version=2024-10-21\"");
    else
      spec.query = p["query"].get<std::string>();
  }
  if (p.contains("region") && p["region"].is_string()) spec.region = p["region"].get<std::string>();
  spec.access_key_id = secret_field(p, "access_key_id", where, problems);
  spec.secret_access_key = secret_field(p, "secret_access_key", where, problems);
  spec.session_token = secret_field(p, "session_token", where, problems);
  if (spec.type == "bedrock") {
    if (spec.region.empty()) problems.add(where + ": bedrock needs \"region\"");
    if (spec.access_key_id.empty() || spec.secret_access_key.empty())
      problems.add(where + ": bedrock needs \"access_key_id\" and \"secret_access_key\" (or their _env forms)");
    if (spec.base_url.empty() && !spec.region.empty())
      spec.base_url = "https://bedrock-runtime." + spec.region + ".amazonaws.com";
  }
  if (spec.type == "anthropic" && spec.api_key.empty()) problems.add(where + ": anthropic needs \"api_key\"");

  spec.timeouts.total_ms = total_ms;
  spec.timeouts.first_byte_ms = std::min<std::int64_t>(30000, total_ms);
  if (p.contains("timeouts_ms")) {
    const auto& t = p["timeouts_ms"];
    if (!t.is_object()) {
      problems.add(where + ": \"timeouts_ms\" must be an object {connect, first_byte, total}");
    } else {
      spec.timeouts.connect_ms = int_field(t, "connect", spec.timeouts.connect_ms, 100, 600000, where, problems);
      spec.timeouts.first_byte_ms =
          int_field(t, "first_byte", spec.timeouts.first_byte_ms, 100, 3600000, where, problems);
      spec.timeouts.total_ms = int_field(t, "total", spec.timeouts.total_ms, 100, 3600000, where, problems);
    }
  }
  if (p.contains("retries")) {
    const auto& r = p["retries"];
    if (!r.is_object()) {
      problems.add(where + ": \"retries\" must be an object {max_attempts, backoff_ms, max_backoff_ms}");
    } else {
      spec.retries.max_attempts =
          static_cast<int>(int_field(r, "max_attempts", spec.retries.max_attempts, 1, 10, where, problems));
      spec.retries.backoff_ms = int_field(r, "backoff_ms", spec.retries.backoff_ms, 0, 60000, where, problems);
      spec.retries.max_backoff_ms =
          int_field(r, "max_backoff_ms", spec.retries.max_backoff_ms, 0, 600000, where, problems);
      spec.retries.max_retry_after_ms =
          int_field(r, "max_retry_after_ms", spec.retries.max_retry_after_ms, 0, 600000, where, problems);
    }
  }
  spec.max_connections = static_cast<int>(int_field(p, "max_connections", 64, 1, 100000, where, problems));

  ModelSpec defaults;
  if (p.contains("model_defaults")) {
    if (!p["model_defaults"].is_object())
      problems.add(where + ": \"model_defaults\" must be an object");
    else
      read_model_details(p["model_defaults"], defaults, where, problems);
  }
  spec.discovered_defaults = defaults;
  if (p.contains("models")) {
    if (!p["models"].is_array())
      problems.add(where + ": \"models\" must be a list");
    else
      for (const auto& m : p["models"]) spec.models.push_back(read_model(m, defaults, where, problems));
  }
  if (spec.models.empty()) {
    if (spec.type == "openai")
      spec.discover_models = true;
    else
      problems.add(where + ": list its \"models\"");
  }
  return spec;
}

void check_models(const Catalog& catalog, Problems& problems) {
  std::set<std::string> ids;
  std::set<std::string> names;
  bool discovers = false;
  for (const auto& p : catalog.providers) {
    if (!names.insert(p.name).second) problems.add("provider name \"" + p.name + "\" is used twice");
    discovers = discovers || p.discover_models;
    for (const auto& m : p.models)
      if (!m.id.empty() && !ids.insert(m.id).second)
        problems.add("model \"" + m.id + "\" is listed twice; a model id must belong to one provider");
  }
  for (const auto& p : catalog.providers)
    for (const auto& m : p.models)
      for (const auto& f : m.fallbacks) {
        if (f == m.id)
          problems.add("model \"" + m.id + "\" lists itself as a fallback");
        else if (!ids.count(f) && !discovers)
          problems.add("model \"" + m.id + "\" falls back to \"" + f + "\", which no provider lists");
      }
  if (!catalog.default_model.empty() && !ids.count(catalog.default_model) && !discovers)
    problems.add("the default model \"" + catalog.default_model + "\" is not listed by any provider");
}

ProviderSpec from_env(std::string type, std::string base_url, const std::vector<std::string>& models,
                      const config::Config& config) {
  ProviderSpec spec;
  spec.name = type;
  spec.type = std::move(type);
  spec.base_url = std::move(base_url);
  spec.timeouts.total_ms = config.llm_timeout_ms;
  spec.timeouts.first_byte_ms = std::min<std::int64_t>(30000, config.llm_timeout_ms);
  for (const auto& id : models) {
    ModelSpec m;
    m.id = id;
    m.upstream_id = id;
    m.embedding = looks_like_embedding_model(id);
    spec.models.push_back(std::move(m));
  }
  return spec;
}

}  // namespace

bool looks_like_embedding_model(std::string_view upstream_id) {
  return upstream_id.find("embed") != std::string_view::npos;
}

Result<Catalog> build_catalog(const config::Config& config, const std::optional<std::string>& file_text) {
  Catalog catalog;
  Problems problems;
  if (config.providers_file) {
    std::string where = "CHATD_PROVIDERS_FILE " + *config.providers_file;
    json doc = json::parse(file_text.value_or(""), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail(Code::invalid_argument, where + ": not a JSON object");
    if (!doc.contains("providers") || !doc["providers"].is_array() || doc["providers"].empty())
      return fail(Code::invalid_argument, where + ": \"providers\" must be a non-empty list");
    for (std::size_t i = 0; i < doc["providers"].size(); ++i)
      catalog.providers.push_back(read_provider(doc["providers"][i], i, config.llm_timeout_ms, problems));
    if (doc.contains("default_model")) {
      if (!doc["default_model"].is_string())
        problems.add(where + ": \"default_model\" must be a string");
      else
        catalog.default_model = doc["default_model"].get<std::string>();
    }
    if (config.default_model) catalog.default_model = *config.default_model;
  } else {
    if (config.openai_api_key) {
      auto spec = from_env("openai", config.openai_base_url, config.openai_models, config);
      spec.api_key = *config.openai_api_key;
      spec.discover_models = spec.models.empty();
      catalog.providers.push_back(std::move(spec));
    }
    if (config.anthropic_api_key) {
      auto spec = from_env("anthropic", config.anthropic_base_url, config.anthropic_models, config);
      spec.api_key = *config.anthropic_api_key;
      catalog.providers.push_back(std::move(spec));
    }
    if (config.aws_access_key_id && config.aws_secret_access_key && !config.bedrock_models.empty()) {
      std::string region = config.aws_region.value_or("us-east-1");
      auto spec =
          from_env("bedrock", config.bedrock_endpoint.value_or("https://bedrock-runtime." + region + ".amazonaws.com"),
                   config.bedrock_models, config);
      spec.region = region;
      spec.access_key_id = *config.aws_access_key_id;
      spec.secret_access_key = *config.aws_secret_access_key;
      spec.session_token = config.aws_session_token.value_or("");
      catalog.providers.push_back(std::move(spec));
    }
    if (config.default_model) catalog.default_model = *config.default_model;
  }
  if (catalog.providers.empty()) {
    // API.md: with no provider configured, the built-in demo model alone.
    ProviderSpec demo;
    demo.name = "demo";
    demo.type = "demo";
    ModelSpec m;
    m.id = "demo";
    m.upstream_id = "demo";
    demo.models.push_back(std::move(m));
    catalog.providers.push_back(std::move(demo));
    catalog.demo = true;
    if (!catalog.default_model.empty() && catalog.default_model != "demo")
      problems.add("CHATD_DEFAULT_MODEL \"" + catalog.default_model +
                   "\" names a model, but no provider is configured (only the built-in demo model exists)");
    catalog.default_model = "demo";
  }
  check_models(catalog, problems);
  if (!problems.empty()) return problems.error();
  return catalog;
}

}  // namespace chatd::llm
