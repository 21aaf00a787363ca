#include "dashboard/asset_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol/http/uri.hpp"

namespace wk::dashboard {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view mount = "/dashboard";
constexpr std::size_t max_path_bytes = 1024;
constexpr std::size_t max_depth = 16;
constexpr std::size_t max_reported_problems = 8;

// Only the page itself gets these: the assets are scripts and styles, not documents.
constexpr std::string_view page_security_policy =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'";

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Calls f(item) for each comma-separated, trimmed, non-empty item of a header value.
template <class F>
void for_each_list_item(std::string_view value, F f) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    if (!item.empty())
      f(item);
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
}

// RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. nullopt-like -1 when malformed.
int qvalue_thousandths(std::string_view q) {
  if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1'))
    return -1;
  int value = (q[0] - '0') * 1000;
  if (q.size() == 1)
    return value;
  if (q[1] != '.')
    return -1;
  int scale = 100;
  for (std::size_t i = 2; i < q.size(); ++i, scale /= 10) {
    if (q[i] < '0' || q[i] > '9')
      return -1;
    value += (q[i] - '0') * scale;
  }
  return value <= 1000 ? value : -1;
}

std::string hex64(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[static_cast<std::size_t>(i)] = digits[v & 0xF];
  return out;
}

// FNV-1a: cheap, stable across runs and builds, and plenty to tell two versions of a file apart.
std::string make_etag(std::string_view content, std::string_view variant) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : content) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  std::string tag = "\"" + hex64(h) + "-" + std::to_string(content.size());
  tag += variant;
  tag += '"';
  return tag;
}

bool is_within(const fs::path& root, const fs::path& candidate) {
  auto r = root.begin();
  auto c = candidate.begin();
  for (; r != root.end(); ++r, ++c)
    if (c == candidate.end() || *r != *c)
      return false;
  return true;
}

// Reads a whole regular file without following a final symlink (the caller resolved the path
// already; this closes the window where the file is swapped for a link after the check).
bool read_file(const fs::path& path, std::size_t max_bytes, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (!ok) {
    error = "not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = "larger than " + std::to_string(max_bytes) + " bytes";
    ok = false;
  } else {
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        error = n < 0 ? std::strerror(errno) : "file shrank while being read";
        ok = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

http::http_response refused(std::string_view detail) {
  return http::problem(400, "Bad Request", detail);
}

// Checks the path below /dashboard/ segment by segment; "" when acceptable, else the reason.
std::string path_problem(std::string_view rel) {
  if (rel.size() > max_path_bytes)
    return "path is longer than " + std::to_string(max_path_bytes) + " bytes";
  if (!rel.empty() && rel.front() == '/')
    return "absolute paths are refused";
  for (const char c : rel) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F)
      return "control characters are refused";
    if (c == '\\')
      return "backslashes are refused";
    // The gateway decoded the path once; a '%' left over means it was encoded twice
    // (%252e%252e), which no asset name needs and only an attack produces.
    if (c == '%')
      return "encoded characters are refused";
  }
  std::string_view rest = rel;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment == "." || segment == "..")
      return "dot segments are refused";
    if (segment.empty())
      return "empty path segments are refused";
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

std::string encode_path(std::string_view rel) {
  std::string out;
  std::string_view rest = rel;
  while (true) {
    const std::size_t slash = rest.find('/');
    out += http::percent_encode(rest.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    out += '/';
    rest.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

std::string content_type_for(std::string_view file_name) {
  struct entry {
    std::string_view extension;
    std::string_view type;
  };
  static constexpr entry types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".wasm", "application/wasm"},
      {".gz", "application/gzip"},
  };
  const std::size_t dot = file_name.rfind('.');
  const std::size_t slash = file_name.rfind('/');
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
    const std::string_view extension = file_name.substr(dot);
    for (const auto& t : types)
      if (ascii_iequals(extension, t.extension))
        return std::string(t.type);
  }
  return "application/octet-stream";
}

bool is_hashed_name(std::string_view file_name) {
  const std::size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos)
    file_name.remove_prefix(slash + 1);
  const std::size_t dot = file_name.find('.');
  const std::string_view stem = file_name.substr(0, dot);
  const std::size_t dash = stem.rfind('-');
  if (dash == std::string_view::npos || dash == 0)
    return false;
  const std::string_view hash = stem.substr(dash + 1);
  if (hash.size() < 8 || hash.size() > 64)
    return false;
  bool digit = false;
  bool lower = false;
  for (const char c : hash) {
    if (c >= '0' && c <= '9')
      digit = true;
    else if (c >= 'a' && c <= 'z')
      lower = true;
    else if (c < 'A' || c > 'Z')
      return false;
  }
  // A hash has digits or is all capitals (esbuild's base32); "app-component" is a word.
  return digit || !lower;
}

bool accepts_gzip(std::string_view accept_encoding) {
  int gzip_q = -1;
  int any_q = -1;
  for_each_list_item(accept_encoding, [&](std::string_view item) {
    const std::size_t semicolon = item.find(';');
    const std::string_view coding = trim(item.substr(0, semicolon));
    int q = 1000;
    if (semicolon != std::string_view::npos) {
      std::string_view params = trim(item.substr(semicolon + 1));
      if (params.size() >= 2 && ascii_lower(params[0]) == 'q' && params[1] == '=')
        q = qvalue_thousandths(trim(params.substr(2)));
    }
    if (ascii_iequals(coding, "gzip") || ascii_iequals(coding, "x-gzip"))
      gzip_q = std::max(gzip_q, q);
    else if (coding == "*")
      any_q = std::max(any_q, q);
  });
  // An explicit gzip entry wins over "*", including an explicit refusal (q=0).
  if (gzip_q >= 0)
    return gzip_q > 0;
  return any_q > 0;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto opaque = [](std::string_view tag) {
    if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/')
      tag.remove_prefix(2);
    return tag;
  };
  bool matched = false;
  for_each_list_item(if_none_match, [&](std::string_view item) {
    if (item == "*" || opaque(item) == opaque(etag))
      matched = true;
  });
  return matched;
}

asset_server::asset_server(std::string root_dir, asset_limits limits)
    : root_dir_(std::move(root_dir)), limits_(limits), snapshot_(load(root_dir_, limits_)) {}

std::shared_ptr<const asset_server::snapshot> asset_server::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

bool asset_server::available() const {
  return current()->files.count("index.html") != 0;
}

std::string asset_server::load_error() const {
  return current()->error;
}

std::size_t asset_server::file_count() const {
  return current()->files.size();
}

bool asset_server::reload() {
  auto fresh = load(root_dir_, limits_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_ = std::move(fresh);
  }
  return available();
}

std::shared_ptr<const asset_server::snapshot> asset_server::load(const std::string& root_dir,
                                                                 const asset_limits& limits) {
  auto result = std::make_shared<snapshot>();
  std::vector<std::string> problems;
  std::size_t problem_count = 0;
  auto note = [&](std::string text) {
    if (problems.size() < max_reported_problems)
      problems.push_back(std::move(text));
    ++problem_count;
  };

  std::error_code ec;
  const fs::path root = root_dir.empty() ? fs::path() : fs::canonical(root_dir, ec);
  if (root_dir.empty() || ec || !fs::is_directory(root, ec)) {
    result->error = "dashboard root '" + root_dir + "' is not a readable directory" +
                    (ec ? ": " + ec.message() : std::string());
    return result;
  }

  std::unordered_map<std::string, std::string> contents;
  std::size_t total = 0;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    const std::string rel = entry.path().lexically_relative(root).generic_string();
    std::error_code entry_ec;
    const fs::file_status status = entry.symlink_status(entry_ec);
    if (entry_ec) {
      note("skipped " + rel + ": " + entry_ec.message());
      continue;
    }
    // Hidden files and folders (.git, editor droppings) are never part of a build.
    if (!name.empty() && name.front() == '.') {
      if (fs::is_directory(status))
        it.disable_recursion_pending();
      continue;
    }
    if (fs::is_directory(status)) {
      if (static_cast<std::size_t>(it.depth()) + 1 >= max_depth) {
        it.disable_recursion_pending();
        note("skipped " + rel + ": nested deeper than " + std::to_string(max_depth));
      }
      continue;
    }
    const fs::path real = fs::canonical(entry.path(), entry_ec);
    if (entry_ec) {
      note("skipped " + rel + ": " + entry_ec.message());
      continue;
    }
    if (!is_within(root, real)) {
      note("skipped " + rel + ": it leads outside the dashboard root");
      continue;
    }
    if (!fs::is_regular_file(real, entry_ec))
      continue;
    if (contents.size() >= limits.max_files) {
      note("stopped at " + std::to_string(limits.max_files) + " files");
      break;
    }
    std::string body;
    std::string read_error;
    if (!read_file(real, limits.max_file_bytes, body, read_error)) {
      note("skipped " + rel + ": " + read_error);
      continue;
    }
    if (total + body.size() > limits.max_total_bytes) {
      note("stopped at " + std::to_string(limits.max_total_bytes) + " bytes in total");
      break;
    }
    total += body.size();
    contents.emplace(rel, std::move(body));
  }
  if (ec)
    note("listing '" + root_dir + "' failed: " + ec.message());

  // A prebuilt "x.gz" beside "x" is x's gzip representation, not a file of its own.
  for (auto& [rel, body] : contents) {
    if (ends_with(rel, ".gz") && contents.count(rel.substr(0, rel.size() - 3)) != 0)
      continue;
    asset a;
    a.content_type = content_type_for(rel);
    a.etag = make_etag(body, "");
    a.immutable = is_hashed_name(rel);
    a.body = std::move(body);
    result->files.emplace(rel, std::move(a));
  }
  for (auto& [rel, body] : contents) {
    if (!ends_with(rel, ".gz"))
      continue;
    const auto base = result->files.find(rel.substr(0, rel.size() - 3));
    if (base == result->files.end())
      continue;
    base->second.gzip_etag = make_etag(base->second.body, "-gz");
    base->second.gzip_body = std::move(body);
  }

  if (result->files.count("index.html") == 0)
    problems.insert(problems.begin(), "no index.html in '" + root_dir + "'");
  for (const auto& p : problems) {
    if (!result->error.empty())
      result->error += "; ";
    result->error += p;
  }
  if (problem_count > problems.size())
    result->error += "; and " + std::to_string(problem_count - problems.size()) + " more";
  return result;
}

http::http_response asset_server::serve(const http::http_request& req) const {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = http::problem(405, "Method Not Allowed", "the dashboard answers GET and HEAD only");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  const std::string_view path = req.path;
  if (path.substr(0, mount.size()) != mount ||
      (path.size() > mount.size() && path[mount.size()] != '/'))
    return http::problem(404, "Not Found", "not a dashboard path");
  std::string rel(path.size() > mount.size() ? path.substr(mount.size() + 1) : std::string_view());
  if (const std::string problem = path_problem(rel); !problem.empty())
    return refused(problem);

  const auto files = current();
  if (rel.empty() || rel.back() == '/')
    rel += "index.html";
  auto found = files->files.find(rel);
  if (found == files->files.end()) {
    if (files->files.count(rel + "/index.html") != 0) {
      // A folder named without its slash: relative links inside it need the slash.
      http::http_response r;
      r.status = 308;
      r.content_type.clear();
      r.headers.push_back({"Location", std::string(mount) + "/" + encode_path(rel) + "/"});
      return r;
    }
    if (files->files.count("index.html") == 0)
      return http::problem(404, "Not Found",
                           "the dashboard's web assets are not installed on this server");
    return http::problem(404, "Not Found", "no dashboard file '" + rel + "'");
  }

  const asset& a = found->second;
  const bool gzip = !a.gzip_body.empty() && accepts_gzip(req.header_value("accept-encoding"));
  const std::string& etag = gzip ? a.gzip_etag : a.etag;

  http::http_response r;
  r.headers.push_back({"ETag", etag});
  r.headers.push_back(
      {"Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache"});
  if (!a.gzip_body.empty())
    r.headers.push_back({"Vary", "Accept-Encoding"});
  const std::string_view if_none_match = req.header_value("if-none-match");
  if (!if_none_match.empty() && etag_matches(if_none_match, etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.content_type = a.content_type;
  r.body = gzip ? a.gzip_body : a.body;
  if (gzip)
    r.headers.push_back({"Content-Encoding", "gzip"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  if (ends_with(rel, ".html")) {
    r.headers.push_back({"Content-Security-Policy", std::string(page_security_policy)});
    r.headers.push_back({"Referrer-Policy", "no-referrer"});
  }
  return r;
}

}  // namespace wk::dashboard
