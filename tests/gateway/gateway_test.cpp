#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "protocol/gateway/gateway.hpp"
#include "protocol/http/router.hpp"
#include "protocol/http/uri.hpp"
#include "tests/gateway/test_client.hpp"

using namespace std::chrono_literals;
using wk::gateway::gateway;
using wk::gateway::gateway_options;
using wk::gateway::http_handler;
using wk::http::http_request;
using wk::http::http_response;
using wk::http::responder;
namespace tc = wk::gateway::testing;

namespace {

struct server {
  explicit server(http_handler handler, gateway_options options = {})
      : gw(local(std::move(options)), std::move(handler)) {
    std::string error;
    const bool started = gw.start(&error);
    REQUIRE_MESSAGE(started, error);
    REQUIRE(gw.port() > 0);
  }

  static gateway_options local(gateway_options o) {
    o.bind_address = "127.0.0.1";
    o.port = 0;
    return o;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gw.port()) + path;
  }

  gateway gw;
};

// Answers with a JSON description of the request; the body is echoed as "body".
void describe(http_request req, responder respond) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("method");
  w.String(req.method.c_str());
  w.Key("path");
  w.String(req.path.c_str(), static_cast<rapidjson::SizeType>(req.path.size()));
  w.Key("raw_query");
  w.String(req.raw_query.c_str());
  w.Key("remote");
  w.String(req.remote_address.c_str());
  w.Key("body");
  w.String(req.body.c_str(), static_cast<rapidjson::SizeType>(req.body.size()));
  w.Key("headers");
  w.StartObject();
  for (const auto& h : req.headers) {
    w.Key(h.name.c_str());
    w.String(h.value.c_str());
  }
  w.EndObject();
  w.EndObject();
  respond(wk::http::json_response(200, buffer.GetString()));
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << text.substr(0, 200));
  return doc;
}

std::string str(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

// Answers requests from a worker thread, like an actor would.
class async_worker {
 public:
  async_worker() : thread_([this] { loop(); }) {}
  ~async_worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TEST_CASE("gateway serves GET with the decoded path, raw query and request headers") {
  server srv(describe);
  tc::curl_client client;
  auto r =
    client.perform("GET", srv.url("/api/services/a%20b/x?a=1&b=x+y&c=%26%3D%2B&d&e=caf%C3%A9"), {},
                   {"Authorization: Bearer t0k", "X-Request-Id: r-42", "Accept: application/json",
                    "X-Forwarded-For: 10.0.0.1"});
  REQUIRE(r.code == CURLE_OK);
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  auto doc = json(r.body);
  CHECK(str(doc["method"]) == "GET");
  CHECK(str(doc["path"]) == "/api/services/a b/x");
  auto q = wk::http::parse_query(str(doc["raw_query"]));
  CHECK(q.size() == 5);
  CHECK(q["a"] == "1");
  CHECK(q["b"] == "x y");
  CHECK(q["c"] == "&=+");
  CHECK(q["d"] == "");
  CHECK(q["e"] == "caf\xc3\xa9");
  CHECK(str(doc["remote"]) == "127.0.0.1");
  CHECK(str(doc["headers"]["authorization"]) == "Bearer t0k");
  CHECK(str(doc["headers"]["x-request-id"]) == "r-42");
  CHECK(str(doc["headers"]["accept"]) == "application/json");
  CHECK(str(doc["headers"]["x-forwarded-for"]) == "10.0.0.1");
  CHECK(str(doc["headers"]["host"]).find("127.0.0.1") == 0);
}

TEST_CASE("gateway echoes POST, PUT, PATCH and DELETE bodies byte for byte") {
  server srv([](http_request req, responder respond) {
    http_response r;
    r.content_type = std::string(req.header_value("content-type"));
    r.body = std::move(req.body);
    r.headers.push_back({"x-method", req.method});
    respond(std::move(r));
  });
  tc::curl_client client;
  const char raw[] = "binary\0body\r\n\xff\x80 end";
  const std::string body(raw, sizeof raw - 1);
  for (const std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
    CAPTURE(method);
    auto r = client.perform(method, srv.url("/echo"), body, {"Content-Type: application/x-test"});
    REQUIRE(r.code == CURLE_OK);
    CHECK(r.status == 200);
    CHECK(r.body == body);
    CHECK(r.headers["x-method"] == method);
    CHECK(r.headers["content-type"] == "application/x-test");
  }
  auto empty = client.perform("POST", srv.url("/echo"), "");
  CHECK(empty.status == 200);
  CHECK(empty.body.empty());
  CHECK(empty.connects == 0);  // kept alive through all of it
}

TEST_CASE("gateway answers HEAD with the GET length and no body, OPTIONS through the router") {
  wk::http::router rt;
  rt.add("GET", "/thing",
         [](const http_request&, const wk::http::route_params&, responder respond) {
           respond(wk::http::json_response(200, "{\"thing\":12345}"));
         });
  server srv([&rt](http_request req, responder respond) { rt.dispatch(req, std::move(respond)); });
  tc::curl_client client;
  auto head = client.perform("HEAD", srv.url("/thing"));
  REQUIRE(head.code == CURLE_OK);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.headers["content-length"] == "15");
  auto get = client.perform("GET", srv.url("/thing"));
  CHECK(get.body == "{\"thing\":12345}");
  CHECK(get.connects == 0);  // the HEAD left the connection usable
  auto options = client.perform("OPTIONS", srv.url("/thing"));
  CHECK(options.status == 204);
  CHECK(options.headers["allow"] == "GET, HEAD, OPTIONS");
  CHECK(options.body.empty());
}

TEST_CASE("gateway delivers a response posted later from another thread") {
  async_worker worker;
  server srv([&worker](http_request req, responder respond) {
    worker.post([req = std::move(req), respond]() {
      std::this_thread::sleep_for(200ms);
      respond(wk::http::json_response(200, "{\"late\":\"" + req.path + "\"}"));
    });
  });
  tc::curl_client client;
  auto r = client.perform("GET", srv.url("/slow"));
  REQUIRE(r.code == CURLE_OK);
  CHECK(r.status == 200);
  CHECK(r.body == "{\"late\":\"/slow\"}");
  CHECK(r.elapsed >= 190ms);
}

TEST_CASE("gateway returns router 404 and 405 problems with Allow") {
  wk::http::router rt;
  rt.add("GET", "/api/services",
         [](const http_request&, const wk::http::route_params&, responder respond) {
           respond(wk::http::json_response(200, "[]"));
         });
  server srv([&rt](http_request req, responder respond) { rt.dispatch(req, std::move(respond)); });
  tc::curl_client client;
  auto missing = client.perform("GET", srv.url("/api/nothing"));
  CHECK(missing.status == 404);
  CHECK(missing.headers["content-type"] == "application/problem+json");
  auto doc = json(missing.body);
  CHECK(doc["status"].GetInt() == 404);
  CHECK(str(doc["title"]) == "Not Found");

  auto wrong = client.perform("DELETE", srv.url("/api/services"));
  CHECK(wrong.status == 405);
  CHECK(wrong.headers["allow"] == "GET, HEAD, OPTIONS");
  CHECK(json(wrong.body)["status"].GetInt() == 405);
}

TEST_CASE("gateway refuses a 50 MB Content-Length with 413 without reading the body") {
  std::atomic<int> handled{0};
  gateway_options o;
  o.max_body_bytes = 1 << 20;
  server srv(
    [&](http_request, responder respond) {
      ++handled;
      respond(wk::http::json_response(200, "{}"));
    },
    o);
  tc::curl_client client;
  const curl_off_t declared = 50ll << 20;

  SUBCASE("client waiting for 100-continue") {
    curl_easy_setopt(client.handle(), CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
    auto r = client.upload(srv.url("/upload"), declared, static_cast<std::size_t>(declared));
    CHECK(r.status == 413);
    CHECK(r.elapsed < 10000ms);  // answered before curl would give up waiting and send
    CHECK(r.uploaded < (1 << 20));
    CHECK(r.headers["content-type"] == "application/problem+json");
    CHECK(json(r.body)["status"].GetInt() == 413);
  }
  SUBCASE("client sending the body straight away") {
    auto r =
      client.upload(srv.url("/upload"), declared, static_cast<std::size_t>(declared), {"Expect:"});
    CHECK(r.status == 413);
    CHECK(r.elapsed < 3000ms);
    CHECK(r.uploaded < declared);
    CHECK(json(r.body)["status"].GetInt() == 413);
  }
  CHECK(handled == 0);
  CHECK(srv.gw.get_stats().rejected_too_large == 1);
  auto after = client.perform("GET", srv.url("/fine"));
  CHECK(after.status == 200);
}

TEST_CASE("gateway reads chunked bodies and refuses ones that grow past the limit") {
  gateway_options o;
  o.max_body_bytes = 1 << 20;
  std::atomic<int> handled{0};
  server srv(
    [&](http_request req, responder respond) {
      ++handled;
      respond(wk::http::json_response(200, std::to_string(req.body.size())));
    },
    o);
  tc::curl_client client;

  auto small = client.upload(srv.url("/chunked"), -1, 300000);
  REQUIRE(small.code == CURLE_OK);
  CHECK(small.status == 200);
  CHECK(small.body == "300000");
  // lws 4.1 cannot find the end of an unframed body itself, so the connection ends cleanly.
  CHECK(small.headers["connection"] == "close");
  auto again = client.perform("GET", srv.url("/after-chunked"));
  CHECK(again.status == 200);

  auto big = client.upload(srv.url("/chunked"), -1, 20u << 20, {"Expect:"});
  CHECK(big.status == 413);
  CHECK(big.elapsed < 3000ms);
  CHECK(big.uploaded < (20 << 20));
  CHECK(json(big.body)["status"].GetInt() == 413);
  CHECK(handled == 2);
  CHECK(srv.gw.get_stats().rejected_too_large == 1);
}

TEST_CASE("gateway answers Expect: 100-continue so a large upload does not stall") {
  gateway_options o;
  o.max_body_bytes = 4 << 20;
  server srv(
    [](http_request req, responder respond) {
      respond(wk::http::json_response(200, std::to_string(req.body.size())));
    },
    o);
  tc::curl_client client;
  // Without a 100 Continue, curl would sit out this whole timeout before sending the body.
  curl_easy_setopt(client.handle(), CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  auto r = client.upload(srv.url("/upload"), 2 << 20, 2 << 20, {"Expect: 100-continue"});
  REQUIRE(r.code == CURLE_OK);
  CHECK(r.body == std::to_string(2 << 20));
  CHECK(r.elapsed < 10000ms);
}

TEST_CASE("gateway keeps connections alive across requests") {
  server srv(describe);
  tc::curl_client client;
  for (int i = 0; i < 5; ++i) {
    auto r = client.perform("GET", srv.url("/k/" + std::to_string(i)));
    REQUIRE(r.code == CURLE_OK);
    CHECK(str(json(r.body)["path"]) == "/k/" + std::to_string(i));
    CHECK(r.connects == (i == 0 ? 1 : 0));
  }
  // The service thread counts a response just after handing its last byte to the kernel.
  CHECK(wait_for([&] { return srv.gw.get_stats().responses == 5; }));
  auto stats = srv.gw.get_stats();
  CHECK(stats.requests == 5);
  CHECK(stats.open_connections == 1);
}

TEST_CASE("gateway answers 500 concurrent requests from a worker thread") {
  async_worker worker;
  server srv([&worker](http_request req, responder respond) {
    worker.post([path = req.path, respond] {
      respond(wk::http::json_response(200, "{\"path\":\"" + path + "\"}"));
    });
  });
  constexpr int count = 500;
  CURLM* multi = curl_multi_init();
  std::vector<std::unique_ptr<tc::curl_transfer>> transfers;
  for (int i = 0; i < count; ++i) {
    transfers.push_back(std::make_unique<tc::curl_transfer>(srv.url("/c/" + std::to_string(i))));
    curl_multi_add_handle(multi, transfers.back()->easy);
  }
  int running = 0;
  int answered = 0;
  int correct = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg != CURLMSG_DONE)
        continue;
      tc::curl_transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      auto r = t->finish(m->data.result);
      ++answered;
      char* url = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_EFFECTIVE_URL, &url);
      const std::string path = std::string(url).substr(std::string(url).find("/c/"));
      if (r.code == CURLE_OK && r.status == 200 && r.body == "{\"path\":\"" + path + "\"}")
        ++correct;
    }
    if (running)
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  } while (running && std::chrono::steady_clock::now() < deadline);
  for (auto& t : transfers)
    curl_multi_remove_handle(multi, t->easy);
  curl_multi_cleanup(multi);
  CHECK(answered == count);
  CHECK(correct == count);
  CHECK(
    wait_for([&] { return srv.gw.get_stats().responses == static_cast<std::uint64_t>(count); }));
}

TEST_CASE("gateway sends a 20 MB response body intact") {
  std::string big(20u << 20, '\0');
  std::mt19937_64 rng(7);
  for (std::size_t i = 0; i + 8 <= big.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&big[i], &v, 8);
  }
  server srv([&big](http_request, responder respond) {
    http_response r;
    r.content_type = "application/octet-stream";
    r.body = big;
    respond(std::move(r));
  });
  tc::curl_client client;
  for (int i = 0; i < 2; ++i) {
    auto r = client.perform("GET", srv.url("/big"));
    REQUIRE(r.code == CURLE_OK);
    CHECK(r.status == 200);
    CHECK(r.headers["content-length"] == std::to_string(big.size()));
    CHECK(r.body.size() == big.size());
    CHECK(r.body == big);
  }
}

TEST_CASE("gateway answers malformed requests with 4xx or a close and keeps serving") {
  gateway_options o;
  o.max_header_bytes = 4096;
  server srv(describe, o);
  const std::string requests[] = {
    "GARBAGE\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'b') + "\r\n\r\n",
    "GET /" + std::string(6000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + std::string(100, '\x01'),
    std::string(20000, '\n'),
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
    "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
  };
  for (const auto& request : requests) {
    CAPTURE(request.substr(0, 60));
    auto exchange = tc::raw_request(srv.gw.port(), request, 2500ms);
    REQUIRE(exchange.connected);
    // lws answers some itself (403 for bad escapes, HTML bodies); the gateway answers the rest.
    const std::string status = exchange.received.substr(0, 12);
    const bool client_error =
      (starts_with(status, "HTTP/1.1 ") || starts_with(status, "HTTP/1.0 ")) &&
      (status[9] == '4' || status == "HTTP/1.1 501" || status == "HTTP/1.0 501" ||
       status == "HTTP/1.0 505" || status == "HTTP/1.1 505");
    CHECK((client_error || (exchange.received.empty() && exchange.closed_by_server)));
  }
  tc::curl_client client;
  auto r = client.perform("GET", srv.url("/still/alive"));
  CHECK(r.status == 200);
  CHECK(str(json(r.body)["path"]) == "/still/alive");
}

TEST_CASE("gateway sends 504 when the handler never answers, and ignores a late answer") {
  gateway_options o;
  o.response_timeout = 300ms;
  std::mutex mutex;
  std::vector<responder> parked;
  server srv(
    [&](http_request req, responder respond) {
      if (req.path == "/never") {
        std::lock_guard<std::mutex> lock(mutex);
        parked.push_back(std::move(respond));
        return;
      }
      respond(wk::http::json_response(200, "{\"ok\":true}"));
    },
    o);
  tc::curl_client client;
  auto r = client.perform("GET", srv.url("/never"));
  CHECK(r.status == 504);
  CHECK(r.elapsed >= 290ms);
  CHECK(r.headers["content-type"] == "application/problem+json");
  CHECK(json(r.body)["status"].GetInt() == 504);
  CHECK(srv.gw.get_stats().timed_out == 1);
  {
    std::lock_guard<std::mutex> lock(mutex);
    REQUIRE(parked.size() == 1);
    parked[0](wk::http::json_response(200, "{\"late\":true}"));
  }
  auto next = client.perform("GET", srv.url("/fine"));
  CHECK(next.status == 200);
  CHECK(next.body == "{\"ok\":true}");
  CHECK(next.connects == 0);
}

TEST_CASE("gateway times out each request at its own deadline") {
  gateway_options o;
  o.response_timeout = 400ms;
  async_worker worker;
  server srv(
    [&worker](http_request req, responder respond) {
      if (req.path == "/answered")
        worker.post([respond] {
          std::this_thread::sleep_for(100ms);
          respond(wk::http::json_response(200, "{}"));
        });
    },
    o);
  struct outcome {
    long status = 0;
    std::chrono::milliseconds elapsed{0};
    std::chrono::steady_clock::time_point finished;
  };
  outcome first, answered, last;
  auto fetch = [&srv](const std::string& path, outcome& out) {
    tc::curl_client client;
    auto r = client.perform("GET", srv.url(path));
    out.status = r.status;
    out.elapsed = r.elapsed;
    out.finished = std::chrono::steady_clock::now();
  };
  std::thread a([&] { fetch("/first", first); });
  std::this_thread::sleep_for(150ms);
  std::thread b([&] { fetch("/answered", answered); });
  std::this_thread::sleep_for(150ms);
  std::thread c([&] { fetch("/last", last); });
  a.join();
  b.join();
  c.join();
  CHECK(first.status == 504);
  CHECK(answered.status == 200);
  CHECK(last.status == 504);
  CHECK(first.elapsed >= 390ms);
  CHECK(last.elapsed >= 390ms);
  CHECK(first.finished + 200ms <= last.finished);  // not expired together with the first
  CHECK(srv.gw.get_stats().timed_out == 2);
}

TEST_CASE("gateway ignores a second call of the same responder") {
  server srv([](http_request req, responder respond) {
    respond(wk::http::json_response(200, "{\"first\":\"" + req.path + "\"}"));
    respond(wk::http::json_response(500, "{\"second\":true}"));
  });
  tc::curl_client client;
  for (const std::string path : {"/one", "/two"}) {
    auto r = client.perform("GET", srv.url(path));
    CHECK(r.status == 200);
    CHECK(r.body == "{\"first\":\"" + path + "\"}");
  }
}

TEST_CASE("gateway turns a throwing handler into a 500 problem") {
  server srv([](http_request, responder) -> void { throw std::runtime_error("boom"); });
  tc::curl_client client;
  auto r = client.perform("GET", srv.url("/x"));
  CHECK(r.status == 500);
  CHECK(json(r.body)["status"].GetInt() == 500);
  CHECK(client.perform("GET", srv.url("/y")).status == 500);
}

TEST_CASE("gateway sends valid handler headers and drops unsafe ones") {
  server srv([](http_request, responder respond) {
    http_response r = wk::http::json_response(201, "{}");
    r.headers = {{"Location", "/api/things/1"},
                 {"x-evil", "a\r\nset-cookie: stolen=1"},
                 {"bad name", "x"},
                 {"content-length", "999"},
                 {"connection", "close"}};
    respond(std::move(r));
  });
  tc::curl_client client;
  auto r = client.perform("GET", srv.url("/h"));
  CHECK(r.status == 201);
  CHECK(r.headers["location"] == "/api/things/1");
  CHECK(r.headers.count("x-evil") == 0);
  CHECK(r.headers.count("set-cookie") == 0);
  CHECK(r.headers["content-length"] == "2");
  CHECK(r.body == "{}");
  CHECK(client.perform("GET", srv.url("/h")).connects == 0);
}

TEST_CASE("gateway answers pipelined requests in order") {
  async_worker worker;
  server srv([&worker](http_request req, responder respond) {
    worker.post([path = req.path, respond] {
      // The first answer is the slowest: it must still come out first.
      std::this_thread::sleep_for(path == "/p1" ? 150ms : 10ms);
      respond(wk::http::json_response(200, "{\"path\":\"" + path + "\"}"));
    });
  });
  tc::raw_socket s(srv.gw.port());
  REQUIRE(s.connected());
  REQUIRE(
    s.send_all("GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string got = s.read_until(
    [](const std::string& r) { return r.find("{\"path\":\"/p3\"}") != std::string::npos; }, 3000ms);
  const auto p1 = got.find("{\"path\":\"/p1\"}");
  const auto p2 = got.find("{\"path\":\"/p2\"}");
  const auto p3 = got.find("{\"path\":\"/p3\"}");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  REQUIRE(p3 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(p2 < p3);
  CHECK_FALSE(s.peer_closed());
}

TEST_CASE("gateway stop() with requests in flight drops their answers safely") {
  std::mutex mutex;
  std::vector<responder> parked;
  auto srv = std::make_unique<server>([&](http_request, responder respond) {
    std::lock_guard<std::mutex> lock(mutex);
    parked.push_back(std::move(respond));
  });
  const int port = srv->gw.port();
  std::vector<std::thread> clients;
  std::atomic<int> finished{0};
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&, i] {
      tc::raw_request(port, "GET /wait/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n",
                      5000ms);
      ++finished;
    });
  REQUIRE(wait_for([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return parked.size() == 8;
  }));
  std::thread late_answers([&] {
    for (int round = 0; round < 50; ++round) {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto& respond : parked)
        respond(wk::http::json_response(200, "{}"));
    }
  });
  srv->gw.stop();
  srv->gw.stop();
  late_answers.join();
  for (auto& c : clients)
    c.join();
  CHECK(finished == 8);
  srv.reset();
  for (auto& respond : parked)
    respond(wk::http::json_response(200, "{}"));  // the gateway is gone: dropped, no crash
}

TEST_CASE("gateway reports a port already in use") {
  server first(describe);
  gateway_options o;
  o.bind_address = "127.0.0.1";
  o.port = first.gw.port();
  gateway second(o, describe);
  std::string error;
  CHECK_FALSE(second.start(&error));
  CHECK(error == "port " + std::to_string(o.port) + " in use");

  gateway_options unusable;
  unusable.bind_address = "not-an-ip";
  unusable.port = 0;
  gateway bad_address(unusable, describe);
  CHECK_FALSE(bad_address.start(&error));
  CHECK(error.find("not-an-ip") != std::string::npos);
}

TEST_CASE("gateway can be stopped and started again") {
  server srv(describe);
  tc::curl_client client;
  CHECK(client.perform("GET", srv.url("/one")).status == 200);
  srv.gw.stop();
  CHECK(client.perform("GET", srv.url("/down")).code != CURLE_OK);
  std::string error;
  REQUIRE_MESSAGE(srv.gw.start(&error), error);
  auto r = client.perform("GET", srv.url("/two"));
  CHECK(r.status == 200);
  CHECK(str(json(r.body)["path"]) == "/two");
}

TEST_CASE("gateway refuses connections over max_connections and counts open ones") {
  gateway_options o;
  o.max_connections = 2;
  server srv(describe, o);
  tc::raw_socket a(srv.gw.port());
  tc::raw_socket b(srv.gw.port());
  REQUIRE(wait_for([&] { return srv.gw.get_stats().open_connections == 2; }));
  tc::raw_socket c(srv.gw.port());
  c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.read_until([](const std::string&) { return false; }, 2000ms);
  CHECK(got.empty());
  CHECK(c.peer_closed());
  CHECK(srv.gw.get_stats().refused_connections >= 1);

  a.send_all("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string answer = a.read_until(
    [](const std::string& s) { return s.find("\"/a\"") != std::string::npos; }, 2000ms);
  CHECK(starts_with(answer, "HTTP/1.1 200"));
}

TEST_CASE("gateway spreads connections over its service threads and counts them together") {
  gateway_options o;
  o.service_threads = 3;
  o.max_connections = 7;
  server srv(describe, o);
  std::vector<std::unique_ptr<tc::raw_socket>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<tc::raw_socket>(srv.gw.port()));
    // One at a time, so each is counted before the next is placed.
    REQUIRE(wait_for([&] { return srv.gw.get_stats().open_connections == clients.size(); }));
  }
  CHECK(srv.gw.get_stats().open_per_thread == std::vector<std::uint64_t>{2, 2, 2});
  // Every thread answers its own connections.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::string path = "/c" + std::to_string(i);
    clients[i]->send_all("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string answer = clients[i]->read_until(
      [&](const std::string& s) { return s.find("\"" + path + "\"") != std::string::npos; },
      2000ms);
    CHECK(starts_with(answer, "HTTP/1.1 200"));
  }
  // The limit holds across threads.
  tc::raw_socket seventh(srv.gw.port());
  REQUIRE(wait_for([&] { return srv.gw.get_stats().open_connections == 7; }));
  tc::raw_socket eighth(srv.gw.port());
  eighth.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(eighth.read_until([](const std::string&) { return false; }, 1000ms).empty());
  CHECK(eighth.peer_closed());
  CHECK(srv.gw.get_stats().refused_connections == 1);
  clients.clear();
  CHECK(wait_for([&] { return srv.gw.get_stats().open_connections == 1; }));
}

TEST_CASE("gateway refuses service_threads outside 1-64") {
  gateway_options o;
  o.service_threads = 0;
  gateway gw(o, describe);
  std::string error;
  CHECK_FALSE(gw.start(&error));
  CHECK(error == "service_threads must be between 1 and 64");
}

TEST_CASE("gateway open_connections returns to zero when clients leave") {
  server srv(describe);
  {
    tc::curl_client client;
    CHECK(client.perform("GET", srv.url("/x")).status == 200);
    CHECK(srv.gw.get_stats().open_connections == 1);
  }
  CHECK(wait_for([&] { return srv.gw.get_stats().open_connections == 0; }));
}

TEST_CASE("gateway refuses h2c and WebSocket upgrades with a problem and keeps serving") {
  server srv(describe);
  tc::curl_client client;
  curl_easy_setopt(client.handle(), CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_0);
  auto r = client.perform("GET", srv.url("/h2"));
  REQUIRE(r.code == CURLE_OK);
  CHECK(r.status == 505);
  CHECK(json(r.body)["status"].GetInt() == 505);
  curl_easy_setopt(client.handle(), CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  auto ws =
    client.perform("GET", srv.url("/ws"), {}, {"Upgrade: websocket", "Connection: Upgrade"});
  CHECK(ws.status == 501);
  CHECK(ws.headers["content-type"] == "application/problem+json");
  auto plain = client.perform("GET", srv.url("/plain"));
  CHECK(plain.status == 200);
  CHECK(plain.http_version == CURL_HTTP_VERSION_1_1);
}
