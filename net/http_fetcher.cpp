#include "net/http_fetcher.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/transfer.hpp"

namespace wk::net {
namespace {

using failure = fetch_result::failure;

// curl_multi_poll also returns on curl's own timers and on curl_multi_wakeup; this only bounds
// how long an idle loop sleeps.
constexpr std::chrono::milliseconds idle_poll{1000};
constexpr std::chrono::milliseconds poll_error_backoff{10};
// Waiting transfers are checked for expiry at most this often: each sweep walks all of them.
constexpr std::chrono::milliseconds expiry_sweep_interval{20};

void init_curl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init failed: ") + curl_easy_strerror(result));
  }
}

// Failure texts are built where memory may be short; an empty text is the fallback that
// cannot allocate, so the callback still runs exactly once.
void record_failure(transfer& t, failure kind, std::string_view error) noexcept {
  try {
    t.fail(kind, std::string(error));
  } catch (...) {
    t.fail(kind, std::string());
  }
}

void record_expiry(transfer& t) noexcept {
  try {
    t.expire_waiting();
  } catch (...) {
    record_failure(t, failure::timeout, "timeout");
  }
}

}  // namespace

class http_fetcher::loop {
 public:
  explicit loop(fetcher_options options) : options_(std::move(options)) {
    init_curl_once();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(options_.max_host_connections));
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(options_.max_total_connections));
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {
      curl_multi_cleanup(multi_);
      throw;
    }
  }

  ~loop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  const std::string& user_agent() const { return options_.user_agent; }

  void submit(std::unique_ptr<transfer> t) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      // Counted under the lock, before the loop can possibly finish it, so in_flight never
      // goes negative.
      started_.fetch_add(1);
      try {
        queue_.push_back(std::move(t));
      } catch (...) {
        started_.fetch_sub(1);
        throw;
      }
    }
    curl_multi_wakeup(multi_);
  }

  fetcher_stats stats() const {
    fetcher_stats s;
    // Finished counters first: every finish was started earlier, so started read last covers it.
    s.completed = completed_.load();
    s.failed = failed_.load();
    s.callback_exceptions = callback_exceptions_.load();
    s.waiting_for_host = waiting_.load();
    s.started = started_.load();
    s.in_flight = s.started - s.completed - s.failed;
    return s;
  }

 private:
  using clock = transfer::clock;

  // Transfers counted against one "host:port". curl would queue transfers beyond its per-host
  // limit itself, but each queued easy handle holds curl's buffers and every removal walks
  // curl's pending list; so only transfers with a free slot get an easy handle.
  struct host_state {
    std::size_t admitted = 0;
    std::deque<std::unique_ptr<transfer>> waiting;
  };

  // Nothing in a round throws (allocation failures are turned into failed transfers where
  // they happen), so the loop thread never dies with work outstanding.
  void run() noexcept {
    for (;;) {
      std::vector<std::unique_ptr<transfer>> incoming;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) break;
        incoming.swap(queue_);
      }
      for (auto& t : incoming) accept(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      reap();
      const clock::time_point now = clock::now();
      expire_overdue(now);
      if (curl_multi_poll(multi_, nullptr, 0, poll_timeout_ms(now), nullptr) != CURLM_OK) {
        std::this_thread::sleep_for(poll_error_backoff);
      }
    }
    cancel_everything();
  }

  void accept(std::unique_ptr<transfer> t) {
    bool valid = false;
    try {
      valid = t->check();
    } catch (...) {
      record_failure(*t, failure::other, "out of memory");
    }
    if (!valid) {
      complete(*t);
      return;
    }
    if (options_.max_host_connections == 0) {
      launch(std::move(t));
      return;
    }
    try {
      // Through the host's queue even when a slot is free, so arrival order is kept.
      const auto host = hosts_.try_emplace(t->host_key()).first;
      const clock::time_point deadline = t->deadline();
      host->second.waiting.push_back(std::move(t));
      waiting_.fetch_add(1);
      next_sweep_ = std::min(next_sweep_, deadline);
      admit_waiting(host);
    } catch (...) {
      if (t) {
        record_failure(*t, failure::other, "out of memory");
        complete(*t);
      }
    }
  }

  // Starts waiting transfers of one host while it has free slots; forgets an idle host.
  void admit_waiting(std::unordered_map<std::string, host_state>::iterator it) {
    host_state& host = it->second;
    while (host.admitted < options_.max_host_connections && !host.waiting.empty()) {
      std::unique_ptr<transfer> t = std::move(host.waiting.front());
      host.waiting.pop_front();
      waiting_.fetch_sub(1);
      ++host.admitted;
      if (!launch(std::move(t))) --host.admitted;
    }
    if (host.admitted == 0 && host.waiting.empty()) hosts_.erase(it);
  }

  void release_slot(const std::string& key) {
    if (options_.max_host_connections == 0) return;
    const auto it = hosts_.find(key);
    if (it == hosts_.end()) return;
    --it->second.admitted;
    admit_waiting(it);
  }

  // Gives the transfer its easy handle and hands it to curl. False (callback already called)
  // when that fails.
  bool launch(std::unique_ptr<transfer> t) {
    bool opened = false;
    try {
      opened = t->open(clock::now());
    } catch (...) {
      record_failure(*t, failure::other, "out of memory");
    }
    if (!opened) {
      complete(*t);
      return false;
    }
    CURL* handle = t->handle();
    try {
      // The slot is made first so a failed allocation leaves `t` with us.
      active_.emplace(handle, nullptr).first->second = std::move(t);
    } catch (...) {
      record_failure(*t, failure::other, "out of memory");
      complete(*t);
      return false;
    }
    if (const CURLMcode rc = curl_multi_add_handle(multi_, handle); rc != CURLM_OK) {
      const auto it = active_.find(handle);
      const std::unique_ptr<transfer> owned = std::move(it->second);
      active_.erase(it);
      record_failure(*owned, failure::other,
                     std::string("cannot start the transfer: ") + curl_multi_strerror(rc));
      complete(*owned);
      return false;
    }
    return true;
  }

  void reap() {
    int remaining = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &remaining)) {
      if (message->msg != CURLMSG_DONE) continue;
      // The message dies with curl_multi_remove_handle: copy what is needed first.
      CURL* handle = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi_, handle);
      const auto it = active_.find(handle);
      if (it == active_.end()) continue;
      const std::unique_ptr<transfer> t = std::move(it->second);
      active_.erase(it);
      try {
        t->finish(code);
      } catch (...) {
        record_failure(*t, failure::other, "out of memory");
      }
      release_slot(t->host_key());
      complete(*t);
    }
  }

  // Fails waiting transfers whose deadline passed, so their callbacks come on time even while
  // every slot of their host stays busy.
  void expire_overdue(clock::time_point now) {
    if (now < next_sweep_) return;
    clock::time_point earliest = clock::time_point::max();
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      std::deque<std::unique_ptr<transfer>>& waiting = it->second.waiting;
      // Compacted in place: the sweep allocates nothing, so it cannot drop a transfer midway.
      std::size_t kept = 0;
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        transfer& t = *waiting[i];
        if (t.deadline() <= now) {
          waiting_.fetch_sub(1);
          record_expiry(t);
          complete(t);
        } else {
          earliest = std::min(earliest, t.deadline());
          if (kept != i) waiting[kept] = std::move(waiting[i]);
          ++kept;
        }
      }
      waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(kept), waiting.end());
      if (it->second.admitted == 0 && waiting.empty()) {
        it = hosts_.erase(it);
      } else {
        ++it;
      }
    }
    next_sweep_ = earliest == clock::time_point::max()
                      ? earliest
                      : std::max(earliest, now + expiry_sweep_interval);
  }

  int poll_timeout_ms(clock::time_point now) const {
    if (next_sweep_ - now >= idle_poll) return static_cast<int>(idle_poll.count());
    const auto until_sweep =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_sweep_ - now);
    return static_cast<int>(std::max<std::int64_t>(until_sweep.count() + 1, 0));
  }

  void complete(transfer& t) noexcept {
    (t.ok() ? completed_ : failed_).fetch_add(1);
    if (!t.deliver()) callback_exceptions_.fetch_add(1);
  }

  void cancel_everything() {
    for (auto& [handle, t] : active_) {
      curl_multi_remove_handle(multi_, handle);
      record_failure(*t, failure::other, "cancelled");
      complete(*t);
    }
    active_.clear();
    for (auto& [key, host] : hosts_) {
      for (auto& t : host.waiting) {
        waiting_.fetch_sub(1);
        record_failure(*t, failure::other, "cancelled");
        complete(*t);
      }
    }
    hosts_.clear();
    // Callbacks may have submitted more work while being cancelled; it is cancelled too.
    for (;;) {
      std::vector<std::unique_ptr<transfer>> late;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        late.swap(queue_);
      }
      if (late.empty()) break;
      for (auto& t : late) {
        record_failure(*t, failure::other, "cancelled");
        complete(*t);
      }
    }
  }

  const fetcher_options options_;
  CURLM* multi_ = nullptr;
  std::mutex mutex_;
  std::vector<std::unique_ptr<transfer>> queue_;
  bool stopping_ = false;
  // Loop thread only.
  std::unordered_map<CURL*, std::unique_ptr<transfer>> active_;
  std::unordered_map<std::string, host_state> hosts_;
  clock::time_point next_sweep_ = clock::time_point::max();
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> callback_exceptions_{0};
  std::atomic<std::uint64_t> waiting_{0};
  std::thread thread_;
};

http_fetcher::http_fetcher(fetcher_options options)
    : loop_(std::make_unique<loop>(std::move(options))) {}

http_fetcher::~http_fetcher() = default;

void http_fetcher::fetch(fetch_request request, std::function<void(fetch_result)> done) {
  loop_->submit(
      std::make_unique<transfer>(std::move(request), std::move(done), loop_->user_agent()));
}

void http_fetcher::connect_tcp(std::string host, int port, std::chrono::milliseconds timeout,
                               std::function<void(tcp_result)> done) {
  loop_->submit(std::make_unique<transfer>(std::move(host), port, timeout, std::move(done)));
}

fetcher_stats http_fetcher::stats() const { return loop_->stats(); }

}  // namespace wk::net
