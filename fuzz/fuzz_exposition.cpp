// Feeds arbitrary bytes to the exposition parser in both formats and checks its invariants.
// Build and run: fuzz/run.sh SECONDS
#include "protocol/exposition_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using wk::protocol::entry;
using wk::protocol::exposition_format;

bool inside(std::string_view part, std::string_view body) {
  return part.empty() ||
         (part.data() >= body.data() && part.data() + part.size() <= body.data() + body.size());
}

void check(bool condition) {
  if (!condition) std::abort();
}

void parse_to_end(std::string_view body, exposition_format format) {
  wk::protocol::exposition_parser parser(body, format);
  // Each entry but the last consumes at least one byte.
  for (std::size_t step = 0; step <= body.size() + 1; ++step) {
    switch (parser.next()) {
      case entry::series: {
        check(!parser.metric_name().empty() && inside(parser.metric_name(), body));
        for (const auto& label : parser.labels()) {
          check(!label.name.empty() && inside(label.name, body));
          check(label.name != "__name__");
          check(label.value.size() <= body.size());
        }
        break;
      }
      case entry::type:
      case entry::help:
      case entry::unit:
        check(!parser.family_name().empty() && inside(parser.family_name(), body));
        check(parser.help().size() <= body.size() && inside(parser.unit(), body));
        break;
      case entry::comment:
        check(format == exposition_format::prometheus_text);
        break;
      case entry::eof:
        check(parser.next() == entry::eof);
        return;
      case entry::error: {
        const auto& error = parser.error();
        check(error.line >= 1 && error.column >= 1 && !error.message.empty());
        check(error.column <= body.size() + 1);
        check(parser.next() == entry::error);
        return;
      }
    }
  }
  std::abort();  // no progress
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  parse_to_end(body, exposition_format::prometheus_text);
  parse_to_end(body, exposition_format::openmetrics);
  return 0;
}
