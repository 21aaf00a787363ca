#pragma once

// The WebSocket protocol's JSON messages (docs/websocket.md), as pure code: parsing what a
// client sends and rendering what the server answers. No libwebsockets here.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::gateway {

enum class client_message_type { subscribe, unsubscribe, ping, auth };

struct client_message {
  client_message_type type = client_message_type::ping;
  std::vector<std::string> topics;     // subscribe, unsubscribe
  std::optional<std::uint64_t> since;  // subscribe
  std::string id_json;                 // ping: the id as JSON text (string or number), or empty
  std::string token;                   // auth
};

// Limits on what one client message may ask for.
constexpr std::size_t max_topics_per_message = 64;
constexpr std::size_t max_token_bytes = 4096;
constexpr std::size_t max_ping_id_bytes = 128;

// Topics a client may name: the fixed ones, metrics:<service> and metrics:<service>{selector}
// (events/metrics_topic.hpp). *why, when given, explains a malformed metrics topic.
const std::vector<std::string>& fixed_topics();
bool valid_topic(std::string_view topic, std::string* why = nullptr);

// nullopt with a human-readable reason in *error for malformed JSON, an unknown type or a bad
// field.
std::optional<client_message> parse_client_message(std::string_view text, std::string* error);

bool valid_utf8(std::string_view text);

std::string render_hello(std::string_view version, std::uint64_t seq,
                         const std::vector<std::string>& topics, bool auth_required);
std::string render_subscribed(const std::vector<std::string>& topics, std::uint64_t seq);
std::string render_unsubscribed(const std::vector<std::string>& topics, std::uint64_t seq);
std::string render_resync(std::string_view reason, std::uint64_t oldest, std::uint64_t seq);
std::string render_pong(std::string_view id_json, std::uint64_t seq);
std::string render_authenticated();
std::string render_error(std::string_view code, std::string_view detail);

}  // namespace wk::gateway
