// Applying the nats.* credential and TLS keys to a nats.c natsOptions (the one place that does,
// persistence/nats_connection.hpp), and the URL every message shows. No server runs here: the
// refusals of a real server are tested in tests/nats/nats_security_test.cpp.
#include <fstream>

#include <gtest/gtest.h>
#include <nats/nats.h>

#include "persistence/nats_connection.hpp"
#include "tests/support/temp_dir.hpp"

using namespace flashsale;

namespace {

std::string apply_error(const nats_security& s) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  auto problem = apply_nats_security(opts, s);
  natsOptions_Destroy(opts);
  return problem.value_or("");
}

} // namespace

TEST(NatsUrlRedaction, DropsCredentialsFromEveryServerOfTheList) {
  EXPECT_EQ(redact_nats_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
  EXPECT_EQ(redact_nats_url("nats://node:s3cret@10.0.0.1:4222,nats://tok@10.0.0.2:4222"),
            "nats://10.0.0.1:4222,nats://10.0.0.2:4222");
  EXPECT_EQ(redact_nats_url("tls://u:p@h:4443/x"), "tls://h:4443/x");
  EXPECT_EQ(redact_nats_url(""), "");
}

TEST(NatsSecurity, NothingSetAppliesNothing) {
  EXPECT_FALSE(nats_security{}.any());
  EXPECT_EQ(apply_error({}), "");
}

TEST(NatsSecurity, AFileThatCannotBeReadNamesItsKeyAndPath) {
  nats_security s;
  s.creds_file = "/nonexistent/node.creds";
  EXPECT_EQ(apply_error(s), "nats.creds_file: cannot read '/nonexistent/node.creds'");
  s = {};
  s.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(apply_error(s), "nats.tls.ca_file: cannot read '/nonexistent/ca.pem'");
  s = {};
  s.cert_file = "/nonexistent/c.pem";
  s.key_file = "/nonexistent/k.pem";
  EXPECT_EQ(apply_error(s), "nats.tls.cert_file: cannot read '/nonexistent/c.pem'");
}

TEST(NatsSecurity, ACaFileThatIsNoCertificateNamesTheKey) {
  flashsale::testing::temp_dir dir;
  std::ofstream(dir.file("ca.pem")) << "not a certificate\n";
  nats_security s;
  s.ca_file = dir.file("ca.pem");
  auto e = apply_error(s);
  EXPECT_EQ(e.rfind("nats.tls.ca_file: cannot load CA certificates from '" + s.ca_file + "'", 0),
            0u)
      << e;
}

TEST(NatsSecurity, UserPasswordAndTokenApplyWithoutAServer) {
  nats_security s;
  s.user = "flashsale-node";
  s.password = "s3cret";
  EXPECT_EQ(apply_error(s), "");
  s = {};
  s.token = "t0ken";
  EXPECT_EQ(apply_error(s), "");
}
