// Every input in tests/http/corpus (fuzzer seeds and any crasher the fuzzer found) goes
// through every parser of http/validation: each must return a value or a rejection.
#include <dirent.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "http/validation.hpp"
#include "payments/webhook_signature.hpp"

using namespace flashsale;

TEST(ValidationRegression, EveryCorpusInputIsAnsweredWithoutCrashing) {
  DIR* d = ::opendir(FLASHSALE_HTTP_CORPUS);
  ASSERT_NE(d, nullptr) << FLASHSALE_HTTP_CORPUS;
  int files = 0;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    std::ifstream in(std::string(FLASHSALE_HTTP_CORPUS) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto body = ss.str();
    ++files;
    auto order = parse_order_request(body, std::nullopt);
    auto keyed = parse_order_request(body, std::string("k-1"));
    auto product = parse_define_product("p", body, 600);
    auto cancel = parse_cancel_order(body);
    auto hook = parse_webhook(body);
    (void)verify_webhook("s", body, body, 0);
    for (const rejection* r : {std::get_if<rejection>(&order), std::get_if<rejection>(&keyed),
                               std::get_if<rejection>(&product), std::get_if<rejection>(&cancel),
                               std::get_if<rejection>(&hook)})
      if (r) {
        EXPECT_EQ(r->code, errc::invalid_request) << name;
        EXPECT_FALSE(r->message.empty()) << name;
      }
  }
  ::closedir(d);
  EXPECT_GT(files, 0);
}
