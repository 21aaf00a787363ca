#include "events/metrics_topic.hpp"

#include <algorithm>

#include "events/event_hub.hpp"
#include "promql/error.hpp"
#include "promql/parser.hpp"

namespace wk::events {

namespace {

bool fail(std::string* error, std::string why) {
  if (error)
    *error = std::move(why);
  return false;
}

// Service names: printable, no quotes, backslashes or braces (the selector starts at '{').
bool service_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '{' && c != '}';
}

}  // namespace

std::optional<metrics_topic> parse_metrics_topic(std::string_view topic, std::string* error) {
  if (error)
    error->clear();
  if (topic.substr(0, metrics_topic_prefix.size()) != metrics_topic_prefix)
    return std::nullopt;
  if (topic.size() > event_hub::max_topic_bytes) {
    fail(error, "a topic is at most " + std::to_string(event_hub::max_topic_bytes) + " bytes");
    return std::nullopt;
  }
  const std::string_view rest = topic.substr(metrics_topic_prefix.size());
  const std::size_t brace = rest.find('{');
  const std::string_view service = rest.substr(0, brace);
  if (service.empty() || !std::all_of(service.begin(), service.end(), service_char)) {
    fail(error, "metrics:<service> needs a service name (printable, no spaces, quotes, "
                "backslashes or braces)");
    return std::nullopt;
  }
  metrics_topic out;
  out.service = std::string(service);
  if (brace == std::string_view::npos)
    return out;
  out.selector = std::string(rest.substr(brace));
  try {
    const auto parsed = promql::parse(out.selector);
    if (parsed->kind != promql::expr_kind::vector_selector || parsed->offset_ms != 0 ||
        parsed->at != promql::at_kind::none) {
      fail(error, "the selector of a metrics topic is label matchers in braces, e.g. "
                  "metrics:api{__name__=\"up\"}");
      return std::nullopt;
    }
    out.matchers = parsed->matchers;
  } catch (const promql::error& e) {
    fail(error, std::string("invalid selector in metrics topic: ") + e.what());
    return std::nullopt;
  }
  return out;
}

}  // namespace wk::events
