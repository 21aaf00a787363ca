#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wk::persistence {

struct stored_service {
  std::string name;
  std::string spec;  // the service definition as YAML or JSON text
};

// Services added at run time (REST). One connection, opened on first use and reopened after
// a failure; used from one thread. Every call either succeeds or throws persistence::error.
class service_store {
 public:
  static constexpr std::size_t max_name_bytes = 256;
  static constexpr std::size_t max_spec_bytes = 1u << 20;

  // Throws persistence::error when `url` cannot be parsed; does no I/O.
  explicit service_store(std::string url);
  ~service_store();
  service_store(service_store&&) noexcept;
  service_store& operator=(service_store&&) noexcept;

  std::vector<stored_service> list();  // ordered by name
  std::optional<stored_service> find(const std::string& name);
  // Creates or replaces; name must be 1..max_name_bytes and spec at most max_spec_bytes of
  // UTF-8 text without NUL bytes.
  void upsert(const stored_service& service);
  bool remove(const std::string& name);  // false when absent

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
