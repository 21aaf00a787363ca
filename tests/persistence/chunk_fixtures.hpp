#pragma once

#include "persistence/sample_writer.hpp"

#include <cstdint>
#include <string>

namespace wk::persistence::test {

// Chunk payload covering every byte value, including the ones COPY and bytea escape
// (NUL, backslash, tab, newline), varied per (series, chunk).
inline std::string chunk_bytes(std::uint64_t series, std::int64_t index, std::size_t size = 300) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>((i + series * 7 + static_cast<std::uint64_t>(index) * 13) & 0xFF);
  }
  return data;
}

// Chunk `index` of a series: 120 samples over [index*1000, index*1000+999].
inline chunk_record make_chunk(std::uint64_t fingerprint, std::int64_t index,
                               std::string metric = "http_requests_total",
                               std::string labels = R"({"job":"api"})") {
  chunk_record c;
  c.fingerprint = fingerprint;
  c.metric = std::move(metric);
  c.labels_json = std::move(labels);
  c.min_t = index * 1000;
  c.max_t = index * 1000 + 999;
  c.count = 120;
  c.data = chunk_bytes(fingerprint, index);
  return c;
}

}  // namespace wk::persistence::test
