#include "dashboard/asset_server.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using wk::dashboard::asset_limits;
using wk::dashboard::asset_server;
using wk::http::http_request;
using wk::http::http_response;

namespace {

// A scratch directory holding a dashboard root ("site") and a file outside it ("outside").
struct scratch {
  fs::path dir;
  fs::path site;

  scratch() {
    std::string tmpl = (fs::temp_directory_path() / "wk-dashboard-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    site = dir / "site";
    fs::create_directories(site / "assets");
    write("outside/secret.txt", "top secret");
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void write(const std::string& rel, const std::string& body) const {
    const fs::path p = dir / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << body;
  }
  void site_file(const std::string& rel, const std::string& body) const {
    write("site/" + rel, body);
  }

  // The layout web/build.mjs produces.
  void standard_site() const {
    site_file("index.html", "<!doctype html><title>wk</title>");
    site_file("index.html.gz", "GZ-INDEX");
    site_file("assets/app-K3CQFAZ4.js", "console.log('app')");
    site_file("assets/app-K3CQFAZ4.js.gz", "GZ-JS");
    site_file("assets/app-FPW7P3D6.css", "body{}");
    site_file("logo.svg", "<svg/>");
    site_file("notes.unknownext", "x");
  }
};

http_request get(std::string path, std::vector<wk::http::header> headers = {}) {
  http_request r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

std::string header(const http_response& r, const std::string& name) {
  for (const auto& h : r.headers)
    if (h.name == name)
      return h.value;
  return {};
}

bool has_header(const http_response& r, const std::string& name) {
  for (const auto& h : r.headers)
    if (h.name == name)
      return true;
  return false;
}

}  // namespace

TEST_CASE("asset_server serves index.html for the folder and files with their content types") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  REQUIRE(server.available());
  CHECK(server.load_error().empty());
  CHECK(server.file_count() == 5);

  for (const char* path : {"/dashboard", "/dashboard/", "/dashboard/index.html"}) {
    CAPTURE(path);
    const auto r = server.serve(get(path));
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(r.body == "<!doctype html><title>wk</title>");
    CHECK(header(r, "Cache-Control") == "no-cache");
    CHECK(header(r, "Content-Security-Policy").find("default-src 'self'") != std::string::npos);
    CHECK(header(r, "X-Content-Type-Options") == "nosniff");
  }
  const auto js = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js"));
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(js.body == "console.log('app')");
  CHECK(header(js, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK_FALSE(has_header(js, "Content-Security-Policy"));
  CHECK(server.serve(get("/dashboard/assets/app-FPW7P3D6.css")).content_type ==
        "text/css; charset=utf-8");
  const auto svg = server.serve(get("/dashboard/logo.svg"));
  CHECK(svg.content_type == "image/svg+xml");
  CHECK(header(svg, "Cache-Control") == "no-cache");  // not a hashed name
  CHECK(server.serve(get("/dashboard/notes.unknownext")).content_type ==
        "application/octet-stream");
}

TEST_CASE("asset_server answers 404 problems for missing files and paths outside /dashboard") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  const auto missing = server.serve(get("/dashboard/assets/nope.js"));
  CHECK(missing.status == 404);
  CHECK(missing.content_type == "application/problem+json");
  CHECK(missing.body.find("nope.js") != std::string::npos);
  CHECK(server.serve(get("/dashboardx")).status == 404);
  CHECK(server.serve(get("/api/services")).status == 404);
  CHECK(server.serve(get("/")).status == 404);
  // A .gz with its base beside it is a representation, not a file of its own.
  CHECK(server.serve(get("/dashboard/index.html.gz")).status == 404);
}

TEST_CASE("asset_server ETag and If-None-Match answer 304 without a body") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  const auto first = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js"));
  const std::string etag = header(first, "ETag");
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');
  CHECK(etag.back() == '"');

  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    CAPTURE(inm);
    const auto r = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js", {{"if-none-match", inm}}));
    CHECK(r.status == 304);
    CHECK(r.body.empty());
    CHECK(header(r, "ETag") == etag);
    CHECK(header(r, "Cache-Control") == "public, max-age=31536000, immutable");
  }
  const auto changed =
      server.serve(get("/dashboard/assets/app-K3CQFAZ4.js", {{"if-none-match", "\"stale\""}}));
  CHECK(changed.status == 200);
  CHECK(changed.body == "console.log('app')");
}

TEST_CASE("asset_server sends the prebuilt gzip only when Accept-Encoding allows it") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  const auto plain = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js"));
  CHECK(plain.body == "console.log('app')");
  CHECK_FALSE(has_header(plain, "Content-Encoding"));
  CHECK(header(plain, "Vary") == "Accept-Encoding");

  for (const char* accept : {"gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "*", "x-gzip"}) {
    CAPTURE(accept);
    const auto r =
        server.serve(get("/dashboard/assets/app-K3CQFAZ4.js", {{"accept-encoding", accept}}));
    CHECK(r.body == "GZ-JS");
    CHECK(header(r, "Content-Encoding") == "gzip");
    CHECK(header(r, "Vary") == "Accept-Encoding");
    CHECK(r.content_type == "text/javascript; charset=utf-8");
    // The two representations must never share a validator.
    CHECK(header(r, "ETag") != header(plain, "ETag"));
  }
  for (const char* accept :
       {"identity", "gzip;q=0", "gzip;q=0.000, *", "*;q=0", "br", "gzip;q=2"}) {
    CAPTURE(accept);
    const auto r =
        server.serve(get("/dashboard/assets/app-K3CQFAZ4.js", {{"accept-encoding", accept}}));
    CHECK(r.body == "console.log('app')");
    CHECK_FALSE(has_header(r, "Content-Encoding"));
  }
  // A file without a .gz beside it goes out as is and varies on nothing.
  const auto css =
      server.serve(get("/dashboard/assets/app-FPW7P3D6.css", {{"accept-encoding", "gzip"}}));
  CHECK(css.body == "body{}");
  CHECK_FALSE(has_header(css, "Vary"));
  // The gzip ETag revalidates the gzip representation only.
  const auto gz = server.serve(get("/dashboard/", {{"accept-encoding", "gzip"}}));
  CHECK(gz.body == "GZ-INDEX");
  const auto gz304 = server.serve(
      get("/dashboard/", {{"accept-encoding", "gzip"}, {"if-none-match", header(gz, "ETag")}}));
  CHECK(gz304.status == 304);
  const auto plain200 = server.serve(get("/dashboard/", {{"if-none-match", header(gz, "ETag")}}));
  CHECK(plain200.status == 200);
}

TEST_CASE("asset_server refuses traversal: dot segments, encoded dots, absolute and odd paths") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  const std::vector<std::string> hostile = {
      "/dashboard/../outside/secret.txt",
      "/dashboard/assets/../../outside/secret.txt",
      "/dashboard/..",
      "/dashboard/./index.html",
      "/dashboard/%2e%2e/outside/secret.txt",  // encoded twice: one decode leaves %2e
      "/dashboard/%252e%252e/outside/secret.txt",
      "/dashboard/..%2foutside%2fsecret.txt",
      "/dashboard//etc/passwd",
      "/dashboard/assets//app-K3CQFAZ4.js",
      "/dashboard/..\\outside\\secret.txt",
      std::string("/dashboard/index.html\0.js", 26),
      "/dashboard/a\r\nSet-Cookie: x",
      "/dashboard/" + std::string(2000, 'a'),
  };
  for (const auto& path : hostile) {
    CAPTURE(path);
    const auto r = server.serve(get(path));
    CHECK(r.status == 400);
    CHECK(r.content_type == "application/problem+json");
    CHECK(r.body.find("top secret") == std::string::npos);
  }
  // Not traversal, just not there.
  CHECK(server.serve(get("/dashboard/...")).status == 404);
  CHECK(server.serve(get("/dashboard/.hidden")).status == 404);
}

TEST_CASE("asset_server never serves a symlink that leads out of the root") {
  scratch s;
  s.standard_site();
  fs::create_symlink(s.dir / "outside" / "secret.txt", s.site / "leak.txt");
  fs::create_directory_symlink(s.dir / "outside", s.site / "leakdir");
  fs::create_symlink(s.site / "logo.svg", s.site / "alias.svg");  // inside: fine
  fs::create_symlink(s.dir / "nowhere", s.site / "dangling.txt");
  asset_server server(s.site.string());
  REQUIRE(server.available());
  CHECK(server.serve(get("/dashboard/leak.txt")).status == 404);
  CHECK(server.serve(get("/dashboard/leakdir/secret.txt")).status == 404);
  CHECK(server.serve(get("/dashboard/dangling.txt")).status == 404);
  const auto alias = server.serve(get("/dashboard/alias.svg"));
  CHECK(alias.status == 200);
  CHECK(alias.body == "<svg/>");
  CHECK(server.load_error().find("leak.txt: it leads outside the dashboard root") !=
        std::string::npos);
}

TEST_CASE("asset_server reports a missing index or root and answers 404 with a clear detail") {
  scratch s;
  s.site_file("assets/app-K3CQFAZ4.js", "x");
  asset_server no_index(s.site.string());
  CHECK_FALSE(no_index.available());
  CHECK(no_index.load_error().find("no index.html") != std::string::npos);
  const auto r = no_index.serve(get("/dashboard/"));
  CHECK(r.status == 404);
  CHECK(r.body.find("not installed") != std::string::npos);
  CHECK(no_index.serve(get("/dashboard/assets/app-K3CQFAZ4.js")).status == 200);

  asset_server no_root((s.dir / "does-not-exist").string());
  CHECK_FALSE(no_root.available());
  CHECK(no_root.load_error().find("not a readable directory") != std::string::npos);
  CHECK(no_root.serve(get("/dashboard")).status == 404);

  asset_server a_file((s.dir / "outside" / "secret.txt").string());
  CHECK_FALSE(a_file.available());
  CHECK(a_file.serve(get("/dashboard/")).body.find("top secret") == std::string::npos);

  asset_server empty("");
  CHECK_FALSE(empty.available());
}

TEST_CASE("asset_server answers HEAD like GET and refuses other methods") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  auto head = get("/dashboard/assets/app-K3CQFAZ4.js");
  head.method = "HEAD";
  const auto r = server.serve(head);
  const auto g = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js"));
  CHECK(r.status == 200);
  // The gateway sends Content-Length from the body and drops the body itself for HEAD.
  CHECK(r.body.size() == g.body.size());
  CHECK(header(r, "ETag") == header(g, "ETag"));
  CHECK(r.content_type == g.content_type);
  head.headers.push_back({"if-none-match", header(g, "ETag")});
  CHECK(server.serve(head).status == 304);

  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    auto req = get("/dashboard/");
    req.method = method;
    const auto refused = server.serve(req);
    CHECK(refused.status == 405);
    CHECK(header(refused, "Allow") == "GET, HEAD");
  }
}

TEST_CASE("asset_server redirects a folder named without its slash and serves its index") {
  scratch s;
  s.standard_site();
  s.site_file("docs/index.html", "docs");
  asset_server server(s.site.string());
  const auto r = server.serve(get("/dashboard/docs"));
  CHECK(r.status == 308);
  CHECK(header(r, "Location") == "/dashboard/docs/");
  CHECK(server.serve(get("/dashboard/docs/")).body == "docs");
  CHECK(server.serve(get("/dashboard/assets/")).status == 404);  // a folder without an index
}

TEST_CASE("asset_server reload picks up a new build and changes the ETag") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  const std::string before = header(server.serve(get("/dashboard/")), "ETag");
  s.site_file("index.html", "<!doctype html><title>wk v2</title>");
  s.site_file("index.html.gz", "GZ-INDEX-2");
  s.site_file("assets/app-NEWHASH1.js", "v2");
  // Cached in memory: nothing changes until reload().
  CHECK(server.serve(get("/dashboard/")).body == "<!doctype html><title>wk</title>");
  CHECK(server.serve(get("/dashboard/assets/app-NEWHASH1.js")).status == 404);
  CHECK(server.reload());
  const auto after = server.serve(get("/dashboard/"));
  CHECK(after.body == "<!doctype html><title>wk v2</title>");
  CHECK(header(after, "ETag") != before);
  CHECK(server.serve(get("/dashboard/", {{"if-none-match", before}})).status == 200);
  CHECK(server.serve(get("/dashboard/assets/app-NEWHASH1.js")).body == "v2");

  fs::remove(s.site / "index.html");
  CHECK_FALSE(server.reload());
  CHECK(server.serve(get("/dashboard/")).status == 404);
}

TEST_CASE("asset_server limits: oversized files and too many files are skipped and reported") {
  scratch s;
  s.standard_site();
  s.site_file("big.bin", std::string(5000, 'x'));
  asset_limits small;
  small.max_file_bytes = 4096;
  asset_server server(s.site.string(), small);
  CHECK(server.available());
  CHECK(server.serve(get("/dashboard/big.bin")).status == 404);
  CHECK(server.load_error().find("big.bin: larger than 4096 bytes") != std::string::npos);

  asset_limits few;
  few.max_files = 2;
  asset_server capped(s.site.string(), few);
  CHECK(capped.file_count() <= 2);
  CHECK(capped.load_error().find("stopped at 2 files") != std::string::npos);

  asset_limits tiny_total;
  tiny_total.max_total_bytes = 10;
  asset_server total(s.site.string(), tiny_total);
  CHECK(total.load_error().find("bytes in total") != std::string::npos);
}

TEST_CASE("asset_server serves concurrently with reload") {
  scratch s;
  s.standard_site();
  asset_server server(s.site.string());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto r = server.serve(get("/dashboard/assets/app-K3CQFAZ4.js"));
        if (r.status != 200 || r.body != "console.log('app')")
          bad.fetch_add(1);
      }
    });
  for (int i = 0; i < 50; ++i)
    server.reload();
  stop = true;
  for (auto& t : readers)
    t.join();
  CHECK(bad.load() == 0);
}

TEST_CASE("dashboard helpers: content types, hashed names, Accept-Encoding, If-None-Match") {
  using namespace wk::dashboard;
  CHECK(content_type_for("a/b/index.HTML") == "text/html; charset=utf-8");
  CHECK(content_type_for("x.woff2") == "font/woff2");
  CHECK(content_type_for("x.map") == "application/json");
  CHECK(content_type_for("noext") == "application/octet-stream");
  CHECK(content_type_for("dir.v2/noext") == "application/octet-stream");

  CHECK(is_hashed_name("assets/app-K3CQFAZ4.js"));
  CHECK(is_hashed_name("chunk-abcdef0123456789.css"));
  CHECK_FALSE(is_hashed_name("index.html"));
  CHECK_FALSE(is_hashed_name("app-1234.js"));      // too short for a content hash
  CHECK_FALSE(is_hashed_name("my-component.js"));  // a word, not a hash
  CHECK_FALSE(is_hashed_name("-K3CQFAZ4.js"));

  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip(" deflate , gzip ; q=0.5"));
  CHECK(accepts_gzip("*;q=0.1"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("gzip;q=0, *;q=1"));
  CHECK_FALSE(accepts_gzip("gzip;q=abc"));
  CHECK_FALSE(accepts_gzip(",,,"));
  CHECK_FALSE(accepts_gzip(std::string(100000, ',')));

  CHECK(etag_matches("\"a\"", "\"a\""));
  CHECK(etag_matches("W/\"a\"", "\"a\""));
  CHECK(etag_matches("\"b\" , \"a\"", "\"a\""));
  CHECK(etag_matches("*", "\"a\""));
  CHECK_FALSE(etag_matches("\"ab\"", "\"a\""));
  CHECK_FALSE(etag_matches("", "\"a\""));
}
