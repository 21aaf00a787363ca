#include <doctest/doctest.h>

#include <string>

#include "protocol/http/chunked_decoder.hpp"

using namespace wk::http;
using status = chunked_decoder::status;

namespace {

struct outcome {
  status st;
  std::string body;
  std::size_t consumed;  // over the whole input
  std::string error;
};

// Feeds the input in pieces of `step` bytes (0: all at once).
outcome decode(const std::string& input, std::size_t max_body = 1 << 20, std::size_t step = 0) {
  chunked_decoder d(max_body);
  outcome o{status::need_more, {}, 0, {}};
  if (step == 0)
    step = input.size() ? input.size() : 1;
  for (std::size_t off = 0; off < input.size(); off += step) {
    std::size_t consumed = 0;
    o.st = d.feed(std::string_view(input).substr(off, step), o.body, consumed);
    o.consumed += consumed;
    if (o.st != status::need_more)
      break;
  }
  o.error = std::string(d.error());
  return o;
}

}  // namespace

TEST_CASE("chunked decoder joins chunks, in one piece and byte by byte") {
  const std::string wire = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";
  for (std::size_t step : {0, 1, 2, 7}) {
    CAPTURE(step);
    auto o = decode(wire, 1 << 20, step);
    CHECK(o.st == status::done);
    CHECK(o.body == "hello 0123456789");
    CHECK(o.consumed == wire.size());
  }
}

TEST_CASE("chunked decoder skips trailers and reports where the message ended") {
  const std::string wire = "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\nGET / HTTP/1.1\r\n";
  auto o = decode(wire);
  CHECK(o.st == status::done);
  CHECK(o.body == "abc");
  CHECK(o.consumed == wire.find("GET"));
}

TEST_CASE("chunked decoder waits for more input until the last chunk") {
  auto o = decode("4\r\nabcd\r\n");
  CHECK(o.st == status::need_more);
  CHECK(o.body == "abcd");
  CHECK(decode("0\r\n").st == status::need_more);
  CHECK(decode("").st == status::need_more);
}

TEST_CASE("chunked decoder refuses a body over the limit as soon as a chunk size crosses it") {
  auto o = decode("4\r\nabcd\r\n7\r\n", 10);
  CHECK(o.st == status::too_large);
  CHECK(o.body == "abcd");
  CHECK(decode("a\r\n0123456789\r\n0\r\n\r\n", 10).st == status::done);
  CHECK(decode("fffffffffffffff\r\n", 10).st == status::too_large);
}

TEST_CASE("chunked decoder rejects malformed framing with a reason") {
  const char* bad[] = {
    "x\r\n",                  // not hex
    "\r\n",                   // missing size
    "5\nhello\r\n0\r\n\r\n",  // bare LF
    "5\r\nhelloX\r\n",        // data longer than the size
    "5\r\nhello\r0\r\n\r\n",  // CR without LF
    "1000000000000000\r\n",   // 16 hex digits
    "5x\r\n",                 // junk after the size
    "0\r\nX-T: 1\n\r\n",      // bare LF in a trailer
    "0\r\n\rX",               // final CR without LF
  };
  for (const char* wire : bad) {
    CAPTURE(wire);
    auto o = decode(wire);
    CHECK(o.st == status::malformed);
    CHECK_FALSE(o.error.empty());
  }
}

TEST_CASE("chunked decoder bounds extensions and trailers") {
  CHECK(decode("1;" + std::string(5000, 'e') + "\r\n").st == status::malformed);
  CHECK(decode("0\r\nX: " + std::string(20000, 't') + "\r\n\r\n").st == status::malformed);
}

TEST_CASE("chunked decoder keeps its final status once finished or failed") {
  chunked_decoder d(100);
  std::string body;
  std::size_t consumed = 0;
  CHECK(d.feed("0\r\n\r\n", body, consumed) == status::done);
  CHECK(d.feed("5\r\nhello\r\n", body, consumed) == status::done);
  CHECK(consumed == 0);
  CHECK(body.empty());

  chunked_decoder bad(100);
  CHECK(bad.feed("z", body, consumed) == status::malformed);
  CHECK(bad.feed("0\r\n\r\n", body, consumed) == status::malformed);
}
