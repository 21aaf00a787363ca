#include "persistence/migrations.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace wp = wk::persistence;

TEST_CASE("embedded migrations come from sql/ in version order") {
  const auto& all = wp::embedded_migrations();
  REQUIRE_FALSE(all.empty());
  CHECK(all.front().version == 1);
  CHECK(all.front().name == "0001_init.sql");
  CHECK(all.front().sql.find("CREATE TABLE sample_chunks") != std::string::npos);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].version < all[i].version);
  CHECK(wp::migration_checksum("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("embedded migrations are byte-identical to the files in sql/") {
  for (const auto& m : wp::embedded_migrations()) {
    std::ifstream file(std::string(WK_SOURCE_DIR) + "/sql/" + m.name, std::ios::binary);
    REQUIRE_MESSAGE(file, m.name);
    std::ostringstream text;
    text << file.rdbuf();
    CHECK(text.str() == m.sql);
  }
}
