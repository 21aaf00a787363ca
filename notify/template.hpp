#pragma once

// Per-channel text templates. Deliberately small: only `{{ .Field }}` substitution, no logic.
// Fields: .Title .IncidentID .IncidentURL .Service .Severity .Transition .Status .Receiver
// .ExternalURL .GroupKey .AcknowledgedBy .ResolvedBy .Note .AlertCount .Tag, and map lookups
// .CommonLabels.<name> .CommonAnnotations.<name> .GroupLabels.<name> (empty when missing).
// Whitespace inside the braces is optional.

#include <optional>
#include <string>
#include <string_view>

#include "notify/notification.hpp"

namespace wk::notify {

// nullopt when every placeholder is well-formed and known, else a message naming the first
// bad one. Call at configuration time.
std::optional<std::string> validate_template(std::string_view text);

// text with every known placeholder replaced; an unknown or malformed one stays as written.
std::string expand_template(std::string_view text, const notification& n);

}  // namespace wk::notify
