#include "incidents/model.hpp"

namespace wk::incidents {

std::string_view to_string(status s) {
  switch (s) {
    case status::triggered:
      return "triggered";
    case status::acknowledged:
      return "acknowledged";
    case status::resolved:
      return "resolved";
  }
  return "triggered";
}

std::optional<status> parse_status(std::string_view text) {
  if (text == "triggered") return status::triggered;
  if (text == "acknowledged") return status::acknowledged;
  if (text == "resolved") return status::resolved;
  return std::nullopt;
}

bool valid_severity(std::string_view s) {
  for (const auto known : severities) {
    if (s == known) return true;
  }
  return false;
}

}  // namespace wk::incidents
