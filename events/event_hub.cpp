#include "events/event_hub.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::events {

namespace {

// Validates without building a DOM: the text is copied into the frame as it is.
bool is_json_object(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{')
    return false;
  // The reader stops at a NUL, so a string with an embedded one would validate only its prefix.
  if (text.find('\0') != std::string::npos)
    return false;
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::Reader reader;
  rapidjson::StringStream in(text.c_str());
  return !reader.Parse<rapidjson::kParseValidateEncodingFlag>(in, ignore).IsError();
}

std::string render_frame(std::uint64_t seq, std::int64_t ts_ms, const std::string& topic,
                         const std::string& kind, const std::string& data_json) {
  rapidjson::StringBuffer buffer;
  buffer.Reserve(data_json.size() + topic.size() + kind.size() + 96);
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("type");
  w.String("event");
  w.Key("seq");
  w.Uint64(seq);
  w.Key("ts");
  w.Int64(ts_ms);
  w.Key("topic");
  w.String(topic.data(), static_cast<rapidjson::SizeType>(topic.size()));
  w.Key("kind");
  w.String(kind.data(), static_cast<rapidjson::SizeType>(kind.size()));
  w.Key("data");
  w.RawValue(data_json.data(), data_json.size(), rapidjson::kObjectType);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

event_hub::event_hub(hub_options options) : options_(options) {
  options_.capacity = std::max<std::size_t>(1, options_.capacity);
}

std::size_t event_hub::accounted_bytes(const event& e) {
  // The frame, the strings and the bookkeeping around them (shared_ptr blocks, deque slot).
  return e.frame->size() + e.topic.size() + e.kind.size() + sizeof(event) + 96;
}

std::uint64_t event_hub::publish(std::string topic, std::string kind, std::string data_json,
                                 std::int64_t ts_ms) {
  if (topic.empty() || topic.size() > max_topic_bytes)
    throw std::invalid_argument("event topic must be 1-" + std::to_string(max_topic_bytes) +
                                " bytes");
  if (kind.empty() || kind.size() > max_kind_bytes)
    throw std::invalid_argument("event kind must be 1-" + std::to_string(max_kind_bytes) +
                                " bytes");
  if (!is_json_object(data_json))
    throw std::invalid_argument("event data for topic '" + topic + "' is not a JSON object");

  std::uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    seq = last_seq_ + 1;
    auto e = std::make_shared<event>();
    e->seq = seq;
    e->ts_ms = ts_ms;
    // Rendering under the lock keeps seq order and ring order the same; it is one short pass.
    e->frame =
      std::make_shared<const std::string>(render_frame(seq, ts_ms, topic, kind, data_json));
    e->topic = std::move(topic);
    e->kind = std::move(kind);
    ring_bytes_ += accounted_bytes(*e);
    ring_.push_back(std::move(e));
    last_seq_ = seq;
    evict_locked();
  }
  std::lock_guard<std::mutex> lock(waker_mutex_);
  if (waker_)
    waker_();
  return seq;
}

void event_hub::evict_locked() {
  // The newest event stays even when it alone is over max_bytes, so live delivery never stops.
  while (ring_.size() > 1 &&
         (ring_.size() > options_.capacity || ring_bytes_ > options_.max_bytes)) {
    ring_bytes_ -= accounted_bytes(*ring_.front());
    ring_.pop_front();
  }
}

void event_hub::set_waker(std::function<void()> waker) {
  std::lock_guard<std::mutex> lock(waker_mutex_);
  waker_ = std::move(waker);
}

std::uint64_t event_hub::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_seq_;
}

std::uint64_t event_hub::oldest_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ring_.empty() ? 0 : ring_.front()->seq;
}

std::vector<std::shared_ptr<const event>> event_hub::read_shared_after(std::uint64_t after,
                                                                       std::size_t max,
                                                                       bool* gap) const {
  std::vector<std::shared_ptr<const event>> out;
  std::lock_guard<std::mutex> lock(mutex_);
  if (gap)
    *gap = !ring_.empty() && after + 1 < ring_.front()->seq;
  if (ring_.empty() || after >= last_seq_ || max == 0)
    return out;
  const std::uint64_t first = ring_.front()->seq;
  const std::size_t start = after < first ? 0 : static_cast<std::size_t>(after + 1 - first);
  const std::size_t n = std::min(max, ring_.size() - start);
  out.reserve(n);
  for (std::size_t i = start; i < start + n; ++i)
    out.push_back(ring_[i]);
  return out;
}

std::vector<event> event_hub::read_after(std::uint64_t after, std::size_t max, bool* gap) const {
  std::vector<event> out;
  for (const auto& e : read_shared_after(after, max, gap))
    out.push_back(*e);
  return out;
}

std::vector<std::string> event_hub::subscribed_topics(std::string_view prefix) const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(subscribers_mutex_);
  for (auto it = subscribers_.lower_bound(prefix);
       it != subscribers_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back(it->first);
  return out;
}

bool event_hub::has_subscribers(std::string_view topic) const {
  std::lock_guard<std::mutex> lock(subscribers_mutex_);
  return subscribers_.find(topic) != subscribers_.end();
}

void event_hub::add_subscriber(const std::string& topic) {
  std::lock_guard<std::mutex> lock(subscribers_mutex_);
  ++subscribers_[topic];
}

void event_hub::remove_subscriber(const std::string& topic) {
  std::lock_guard<std::mutex> lock(subscribers_mutex_);
  const auto it = subscribers_.find(topic);
  if (it == subscribers_.end())
    return;
  if (--it->second == 0)
    subscribers_.erase(it);
}

std::size_t event_hub::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ring_.size();
}

std::size_t event_hub::kept_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ring_bytes_;
}

}  // namespace wk::events
