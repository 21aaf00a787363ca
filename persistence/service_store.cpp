#include "persistence/service_store.hpp"

#include "persistence/detail/session.hpp"
#include "persistence/error.hpp"
#include "persistence/text_check.hpp"

#include <pqxx/result>
#include <pqxx/transaction>

namespace wk::persistence {
namespace {

constexpr const char* list_name = "wk_services_list";
constexpr const char* list_sql = "SELECT name, spec FROM services ORDER BY name";
constexpr const char* find_name = "wk_services_find";
constexpr const char* find_sql = "SELECT name, spec FROM services WHERE name = $1";
constexpr const char* upsert_name = "wk_services_upsert";
constexpr const char* upsert_sql =
    "INSERT INTO services (name, spec) VALUES ($1, $2)"
    " ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = now()";
constexpr const char* remove_name = "wk_services_remove";
constexpr const char* remove_sql = "DELETE FROM services WHERE name = $1";

void check_name(const std::string& name) {
  if (name.empty()) throw error("service name is empty");
  if (name.size() > service_store::max_name_bytes) {
    throw error("service name is longer than " + std::to_string(service_store::max_name_bytes) +
                " bytes");
  }
  if (std::string why = text_problem(name); !why.empty()) throw error("service name " + why);
}

}  // namespace

struct service_store::impl {
  explicit impl(const std::string& url)
      : session(url, {{list_name, list_sql},
                      {find_name, find_sql},
                      {upsert_name, upsert_sql},
                      {remove_name, remove_sql}}) {}
  detail::session session;
};

service_store::service_store(std::string url) : impl_(std::make_unique<impl>(url)) {}
service_store::~service_store() = default;
service_store::service_store(service_store&&) noexcept = default;
service_store& service_store::operator=(service_store&&) noexcept = default;

std::vector<stored_service> service_store::list() {
  return impl_->session.run("cannot list services", [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<stored_service> out;
    for (const auto& row : tx.exec_prepared(list_name)) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    return out;
  });
}

std::optional<stored_service> service_store::find(const std::string& name) {
  check_name(name);
  return impl_->session.run("cannot read service " + name, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const pqxx::result rows = tx.exec_prepared(find_name, name);
    if (rows.empty()) return std::optional<stored_service>();
    return std::optional<stored_service>(
        stored_service{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()});
  });
}

void service_store::upsert(const stored_service& service) {
  check_name(service.name);
  if (service.spec.size() > max_spec_bytes) {
    throw error("spec of service " + service.name + " is larger than " +
                std::to_string(max_spec_bytes) + " bytes");
  }
  if (std::string why = text_problem(service.spec); !why.empty()) {
    throw error("spec of service " + service.name + " " + why);
  }
  impl_->session.run("cannot save service " + service.name, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared(upsert_name, service.name, service.spec);
    tx.commit();
  });
}

bool service_store::remove(const std::string& name) {
  check_name(name);
  return impl_->session.run("cannot remove service " + name, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    const bool removed = tx.exec_prepared(remove_name, name).affected_rows() > 0;
    tx.commit();
    return removed;
  });
}

}  // namespace wk::persistence
