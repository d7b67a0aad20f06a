// Opening the SQLite event store: the store id, the schema checks that refuse a file this build
// must not write, the data-dir lock that keeps a second node off the same directory, and a
// file whose pages are garbage (a stream read reports the error instead of passing for an empty
// stream).
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "persistence/data_dir.hpp"
#include "persistence/sqlite_reader_pool.hpp"
#include "tests/persistence/store_test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale {
namespace {

using testing::batch_of;
using testing::events_for;
using testing::exec_outside;
using testing::open_error;
using testing::open_store;

TEST(EventStore, StoreIdIsStableAcrossReopenAndDiffersBetweenStores) {
  testing::temp_dir dir;
  std::string first, second;
  {
    auto a = open_store(dir.file("a.db"));
    auto b = open_store(dir.file("b.db"));
    ASSERT_TRUE(a && b);
    first = a->store_id();
    second = b->store_id();
  }
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(first, second);
  auto again = open_store(dir.file("a.db"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->store_id(), first);
}

TEST(EventStore, RefusesANewerSchemaVersion) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  ASSERT_TRUE(open_store(path));
  exec_outside(path, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
  auto error = open_error(path);
  EXPECT_EQ(error.code, store_errc::bad_schema);
  EXPECT_NE(error.message.find("schema version 2"), std::string::npos) << error.message;
}

TEST(EventStore, RefusesAFileThatIsNotAnEventStore) {
  testing::temp_dir dir;
  exec_outside(dir.file("other.db"), "CREATE TABLE accounts(id INTEGER PRIMARY KEY)");
  EXPECT_EQ(open_error(dir.file("other.db")).code, store_errc::bad_schema);
  {
    std::FILE* f = std::fopen(dir.file("garbage.db").c_str(), "wb");
    ASSERT_TRUE(f);
    std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  EXPECT_EQ(open_error(dir.file("garbage.db")).code, store_errc::bad_schema);
  EXPECT_EQ(open_error(dir.file("missing/dir/events.db")).code, store_errc::io_error);
}

TEST(DataDir, SecondOpenOfTheSamePathFailsWhileTheFirstLives) {
  testing::temp_dir dir;
  auto path = dir.file("data");
  auto first = data_dir::open(path);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<data_dir>>(first));
  auto second = data_dir::open(path); // same process, own open file description: refused
  ASSERT_TRUE(std::holds_alternative<std::string>(second));
  EXPECT_NE(std::get<std::string>(second).find("locked"), std::string::npos)
      << std::get<std::string>(second);
  first = std::string("released");
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<data_dir>>(data_dir::open(path)));
}

TEST(EventStore, ACorruptFileIsAReadErrorNotAnEmptyStream) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    for (int i = 0; i < 50; ++i) // several pages of rows and index
      ASSERT_FALSE(
          store->append_sync(batch_of(events_for("order-" + std::to_string(i), 0, 3))).error);
  } // closed: the WAL is checkpointed into the file
  sqlite_reader_pool healthy(path, 1);
  ASSERT_EQ(healthy.read_stream("order-7", 0).events.size(), 3u);
  {
    // Every page but the first (the schema) becomes garbage, as a failing disk might return.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(file.tellg());
    ASSERT_GT(size, 3u * 4096);
    file.seekp(4096);
    file << std::string(size - 4096, '\xa5');
  }
  sqlite_reader_pool readers(path, 1);
  auto read = readers.read_stream("order-7", 0);
  ASSERT_TRUE(read.error) << "corruption must not read as 'no such stream'";
  EXPECT_TRUE(read.events.empty());
  EXPECT_FALSE(read.error->message.empty());
}

} // namespace
} // namespace flashsale
