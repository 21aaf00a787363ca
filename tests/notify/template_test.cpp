#include <doctest/doctest.h>

#include "notify/template.hpp"
#include "tests/notify/sample.hpp"

using namespace wk::notify;

TEST_CASE("template: substitution of fields and label lookups") {
  auto n = testing::sample();
  CHECK(expand_template("{{ .Tag }} {{.Title}} ({{ .Severity }}) {{ .AlertCount }} alerts", n) ==
        "TRIGGERED checkout is down (critical) 2 alerts");
  CHECK(expand_template("{{ .CommonLabels.team }}/{{ .GroupLabels.alertname }}/"
                        "{{ .CommonAnnotations.missing }}!",
                        n) == "payments/ServiceDown/!");
  CHECK(expand_template("{{ .IncidentURL }}", n) == "https://wk.example.com/incidents/inc-42");
  CHECK(expand_template("keep {{ .Unknown }} and {{ unclosed", n) ==
        "keep {{ .Unknown }} and {{ unclosed");
  CHECK(expand_template("", n).empty());
}

TEST_CASE("template: validation names the bad placeholder") {
  CHECK_FALSE(validate_template("{{ .Title }} {{ .CommonLabels.x }}"));
  CHECK_FALSE(validate_template("no placeholders"));
  CHECK(validate_template("{{ .Titel }}") == "unknown template placeholder {{ .Titel }}");
  CHECK(validate_template("{{ Title }}").has_value());
  CHECK(validate_template("{{ .CommonLabels. }}").has_value());
  CHECK(validate_template("{{ .Title }} {{ .Title").value().find("unclosed") != std::string::npos);
}
