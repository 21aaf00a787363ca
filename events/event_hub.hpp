#pragma once

// Publish/subscribe of domain events for live clients. Publishers (actors, any thread) append
// an event; it gets the next sequence number and is serialized once into the JSON frame every
// WebSocket client receives. A bounded ring keeps recent events so a reconnecting client can
// resume from the last seq it saw; older ones are dropped by count and by bytes.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace wk::events {

struct event {
  std::uint64_t seq = 0;
  std::int64_t ts_ms = 0;
  std::string topic;
  std::string kind;
  std::shared_ptr<const std::string> frame;  // the full JSON text sent to clients
};

struct hub_options {
  std::size_t capacity = 65536;   // events kept for replay
  std::size_t max_bytes = 64 << 20;  // approximate memory of the kept events
};

class event_hub {
 public:
  explicit event_hub(hub_options options = {});

  // data_json must be a JSON object; throws std::invalid_argument otherwise, or for an empty
  // or over-long topic or kind (nothing is published then). Returns the seq assigned and calls
  // the waker after the event is visible to readers.
  std::uint64_t publish(std::string topic, std::string kind, std::string data_json,
                        std::int64_t ts_ms);

  // Installed by the consumer (the gateway: lws_cancel_service). Replacing it waits for a call
  // in progress, so after set_waker(nullptr) returns the old waker is never called again.
  void set_waker(std::function<void()> waker);

  std::uint64_t last_seq() const;
  std::uint64_t oldest_seq() const;  // oldest still replayable (0 when empty)

  // Events with seq > after, in order, at most max; sets *gap when events after `after` were
  // already dropped (after < oldest_seq() - 1).
  std::vector<event> read_after(std::uint64_t after, std::size_t max, bool* gap) const;
  // The same without copying strings: the events are shared and immutable.
  std::vector<std::shared_ptr<const event>> read_shared_after(std::uint64_t after,
                                                              std::size_t max, bool* gap) const;

  // Cheap check so publishers of costly topics (metrics:<svc>) skip work nobody watches.
  bool has_subscribers(std::string_view topic) const;
  void add_subscriber(const std::string& topic);
  void remove_subscriber(const std::string& topic);
  // The subscribed topics that start with prefix, e.g. every "metrics:api{...}" stream.
  std::vector<std::string> subscribed_topics(std::string_view prefix) const;

  std::size_t size() const;         // events kept
  std::size_t kept_bytes() const;   // their accounted bytes

  static constexpr std::size_t max_topic_bytes = 256;
  static constexpr std::size_t max_kind_bytes = 128;

 private:
  void evict_locked();
  static std::size_t accounted_bytes(const event& e);

  hub_options options_;
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<const event>> ring_;  // ring_[i].seq == ring_.front().seq + i
  std::size_t ring_bytes_ = 0;
  std::uint64_t last_seq_ = 0;

  std::mutex waker_mutex_;
  std::function<void()> waker_;

  mutable std::mutex subscribers_mutex_;
  std::map<std::string, std::size_t, std::less<>> subscribers_;
};

}  // namespace wk::events
