#pragma once

// Serves the dashboard's built web assets (web/ -> dist) under /dashboard. Every file is read
// once into memory at construction or reload(): the assets are small, and serving from memory
// means a request can never reach a file outside the root, whatever its path says.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/http/http_types.hpp"

namespace wk::dashboard {

// Bounds on what a root directory may hold, so a misconfigured root (say "/") costs an error
// message rather than the process's memory.
struct asset_limits {
  std::size_t max_files = 4096;
  std::size_t max_file_bytes = std::size_t{16} << 20;
  std::size_t max_total_bytes = std::size_t{128} << 20;
};

class asset_server {
 public:
  // Serves files under root_dir for GET/HEAD /dashboard, /dashboard/, /dashboard/<path>:
  // index.html for a folder, content types by extension, ETag + If-None-Match -> 304,
  // Cache-Control (immutable for hashed asset names, no-cache otherwise), the prebuilt
  // <file>.gz when Accept-Encoding allows gzip, 404 problem for missing files, and path
  // traversal (.., encoded dots, absolute paths, symlinks leading out of root) refused.
  explicit asset_server(std::string root_dir, asset_limits limits = {});

  // The root exists and holds index.html.
  bool available() const;

  // Why the last load found nothing to serve or skipped files ("" when all was well).
  std::string load_error() const;

  // Number of files served (gzip variants not counted).
  std::size_t file_count() const;

  // Safe from any thread, concurrently with reload().
  http::http_response serve(const http::http_request& req) const;

  // Re-reads root_dir (after a deploy of new assets). Requests in flight keep the old set.
  // Returns available().
  bool reload();

  const std::string& root_dir() const {
    return root_dir_;
  }

 private:
  struct asset {
    std::string content_type;
    std::string body;
    std::string etag;
    std::string gzip_body;  // empty when no <file>.gz was built
    std::string gzip_etag;
    bool immutable = false;
  };
  struct snapshot {
    std::unordered_map<std::string, asset> files;  // key: path relative to root, '/'-separated
    std::string error;
  };

  static std::shared_ptr<const snapshot> load(const std::string& root_dir,
                                              const asset_limits& limits);
  std::shared_ptr<const snapshot> current() const;

  std::string root_dir_;
  asset_limits limits_;
  mutable std::mutex mutex_;  // guards snapshot_ (the pointer, not the immutable set)
  std::shared_ptr<const snapshot> snapshot_;
};

// Helpers exposed for tests and for the gateway's own use.

// The media type for a file name, chosen by its extension ("application/octet-stream" when
// unknown); text types carry "; charset=utf-8".
std::string content_type_for(std::string_view file_name);

// True for content-hashed bundle names such as "app-5XQ2KJ7A.js": safe to cache forever.
bool is_hashed_name(std::string_view file_name);

// Whether an Accept-Encoding header value admits gzip (q > 0, directly or through "*").
bool accepts_gzip(std::string_view accept_encoding);

// Whether an If-None-Match header value matches etag (weak comparison, "*" matches all).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace wk::dashboard
