#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "rules/catalog.hpp"

TEST_CASE("the catalog refuses PromQL that does not parse in anomaly selectors and predictions") {
  const auto loaded = wk::config::load_config_string(R"(anomaly:
  series: [up, "rate(x[5m]"]
predictions:
  - name: good
    query: predict_linear(disk_avail_bytes[1h], 3600)
  - name: bad
    query: "sum(disk_avail_bytes"
)", "wk.yaml");
  REQUIRE(loaded.config);
  const auto c = wk::rules::load_catalog(*loaded.config);
  REQUIRE(c.errors.size() == 2);
  CHECK(c.errors[0].find("anomaly.series[1]") != std::string::npos);
  CHECK(c.errors[1].find("predictions[1] (bad) query") != std::string::npos);
}
