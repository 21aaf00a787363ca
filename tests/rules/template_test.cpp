#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "rules/template.hpp"

namespace {

using wk::rules::check_template;
using wk::rules::expand_template;
using wk::rules::template_data;

std::string run(const std::string& text, double value = 0) {
  static const wk::tsdb::label_set labels({{"__name__", "up"}, {"instance", "db-1:9100"}, {"job", "api"}});
  static const std::map<std::string, std::string> external{{"cluster", "eu-1"}};
  return expand_template(text, template_data{&labels, value, &external, "http://wk.example:3006"});
}

std::string each(const std::string& fn, std::initializer_list<double> values) {
  std::string out;
  for (const double v : values) out += run("{{ $value | " + fn + " }}", v) + ":";
  return out;
}

}  // namespace

TEST_CASE("template: humanize family matches Prometheus's documented outputs") {
  // Cases from Prometheus's template/template_test.go.
  CHECK(each("humanize", {0.0, 1.0, 1234567.0, .12}) == "0:1:1.235M:120m:");
  CHECK(run("{{ humanize 12345.0 }}") == "12.35k");
  CHECK(run("{{ humanize \"1234567.0\" }}") == "1.235M");
  CHECK(each("humanize1024", {0.0, 1.0, 1048576.0, .12}) == "0:1:1Mi:0.12:");
  CHECK(each("humanizeDuration", {0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99}) ==
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:");
  CHECK(each("humanizeDuration", {.1, .0001, .12345, 60.1, 60.5, 1.2345, 12.345}) ==
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:");
  CHECK(run("{{ humanizeDuration 90 }}") == "1m 30s");
  CHECK(each("humanizePercentage", {0, 0.1234, 0.5, 0.9999, -0.12345}) == "0%:12.34%:50%:99.99%:-12.35%:");
  CHECK(run("{{ humanizeTimestamp 1435065584.128 }}") == "2015-06-23 13:19:44.128 +0000 UTC");
  CHECK(run("{{ humanizeTimestamp 0 }}") == "1970-01-01 00:00:00 +0000 UTC");
  CHECK(run("{{ $value | humanize }}", std::numeric_limits<double>::infinity()) == "+Inf");
}

TEST_CASE("template: variables, fields and Go value printing") {
  CHECK(run("{{ $labels.instance }} of {{ .Labels.job }} is down") == "db-1:9100 of api is down");
  CHECK(run("[{{ $labels.missing }}]") == "[]");
  CHECK(run("{{ $value }}", 0.5) == "0.5");
  CHECK(run("{{ .Value }}", 1e6) == "1e+06");
  CHECK(run("{{ $value }}", 123456) == "123456");
  CHECK(run("{{ $value }}", 1234567) == "1.234567e+06");
  CHECK(run("{{ $value }}", 0.1 + 0.2) == "0.30000000000000004");
  CHECK(run("{{ $value }}", 0.00001) == "1e-05");
  CHECK(run("{{ $externalLabels.cluster }} {{ $externalURL }}") == "eu-1 http://wk.example:3006");
  CHECK(run("{{ .ExternalLabels.cluster }}") == "eu-1");
  CHECK(run("{{ index $labels \"job\" }}") == "api");
  CHECK(run("{{ $x := 5 }}{{ $x }}") == "5");
  CHECK(run("{{ 1.5 }} {{ \"s\" }} {{ `raw\\n` }} {{ true }}") == "1.5 s raw\\n true");
}

TEST_CASE("template: string functions, printf, regexes") {
  CHECK(run("{{ \"aa bb CC\" | title }}") == "Aa Bb CC");
  CHECK(run("{{ \"aa bb CC\" | toUpper }}") == "AA BB CC");
  CHECK(run("{{ \"aa bb CC\" | toLower }}") == "aa bb cc");
  CHECK(run("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}") == "xa");
  CHECK(run("{{ reReplaceAll \":.*\" \"\" $labels.instance }}") == "db-1");
  CHECK(run("{{ if match \"^db-\" $labels.instance }}db{{ end }}") == "db");
  CHECK(run("{{ printf \"%.2f\" $value }}", 3.14159) == "3.14");
  CHECK(run("{{ printf \"%s=%d %5.1f|%-4s|\" \"x\" 3 2.25 \"ab\" }}") == "x=3   2.2|ab  |");
  CHECK(run("{{ printf \"%d\" $value }}", 2) == "%!d(float64=2)");
  CHECK(run("{{ printf \"%v %q\" $value \"a\" }}", 2) == "2 \"a\"");
  CHECK(run("{{ printf \"%s\" }}") == "%!s(MISSING)");
  CHECK(run("{{ \"foo.example.com:12345\" | stripPort }} {{ \"foo.example.com:12345\" | stripDomain }}") ==
        "foo.example.com foo:12345");
  CHECK(run("{{ parseDuration \"1h30m\" }}") == "5400");
}

TEST_CASE("template: if/else with comparisons and logic") {
  const std::string t = "{{ if gt $value 100.0 }}high{{ else if gt $value 10.0 }}mid{{ else }}low{{ end }}";
  CHECK(run(t, 500) == "high");
  CHECK(run(t, 50) == "mid");
  CHECK(run(t, 5) == "low");
  CHECK(run("{{ if eq $labels.job \"api\" \"web\" }}y{{ end }}") == "y");
  CHECK(run("{{ if ne $labels.job \"api\" }}y{{ else }}n{{ end }}") == "n");
  CHECK(run("{{ if and (ge $value 1.0) (le $value 2.0) }}in{{ end }}", 1.5) == "in");
  CHECK(run("{{ if or (lt $value 0.0) (not true) }}x{{ else }}y{{ end }}", 1) == "y");
  CHECK(run("{{ if $labels.missing }}x{{ else }}empty{{ end }}") == "empty");
  // Go refuses to compare a float with an int constant.
  CHECK(run("{{ if gt $value 1 }}x{{ end }}", 2).find("incompatible types for comparison") != std::string::npos);
}

TEST_CASE("template: trim markers and comments") {
  CHECK(run("a  {{- 1 -}}  b") == "a1b");
  CHECK(run("a\n  {{- \"x\" }}\n") == "ax\n");
  CHECK(run("a {{/* note */}} b") == "a  b");
  CHECK(run("a {{- /* note */ -}} b") == "ab");
  CHECK(run("{{- if true -}}\n  yes\n{{- end -}}\n") == "yes");
}

TEST_CASE("template: check_template rejects bad syntax with a position") {
  CHECK(check_template("{{ $labels.instance }} {{ $value | humanize }}").empty());
  CHECK(check_template("plain text").empty());
  CHECK(check_template("{{ if true }}x{{ else }}y{{ end }}").empty());
  CHECK(check_template("{{ $labels.instance").find("unclosed action") != std::string::npos);
  CHECK(check_template("{{ foo }}") == "1:4: function \"foo\" not defined");
  CHECK(check_template("{{ query \"up\" }}") == "1:4: function \"query\" is not supported");
  CHECK(check_template("x\n{{ range $labels }}{{ end }}") == "2:4: {{range}} is not supported in alert templates");
  CHECK(check_template("{{ $nope }}") == "1:4: undefined variable \"$nope\"");
  CHECK(check_template("{{ if true }}x").find("without {{end}}") != std::string::npos);
  CHECK(check_template("{{ end }}").find("unexpected {{end}}") != std::string::npos);
  CHECK(check_template("{{ \"abc }}").find("unterminated quoted string") != std::string::npos);
  CHECK(check_template("{{ }}").find("missing value for command") != std::string::npos);
  CHECK(check_template("{{ 1 2 }}").find("can't give argument to non-function") != std::string::npos);
  CHECK(check_template("{{ $x := 1 }}{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}").find("undefined variable") !=
        std::string::npos);
}

TEST_CASE("template: hostile input is refused, never a crash") {
  CHECK(check_template(std::string(200, '(')).empty());  // plain text
  CHECK(!check_template("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}").empty());
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{{ if true }}";
  CHECK(check_template(deep).find("nested too deeply") != std::string::npos);
  CHECK(!check_template(std::string(wk::rules::max_template_length + 1, 'a')).empty());
  CHECK(run("{{ printf \"%999999d\" 1 }}").find("<error expanding template:") == 0);
  CHECK(run("{{ humanize \"one\" }}").find("<error expanding template:") == 0);
  CHECK(run("{{ .Nope }}").find("<error expanding template: can't evaluate field Nope") == 0);
  CHECK(run("{{ reReplaceAll \"(\" \"\" \"x\" }}").find("<error expanding template:") == 0);
  CHECK(run("{{ bad").find("<error expanding template:") == 0);
}
