// The partition log's layout, pure: subjects a consumer can filter on, ids with dots kept in
// one token, the writer header, and records that read back as they were written.
#include <gtest/gtest.h>

#include "cluster/partition_record.hpp"
#include "events/fast_decode.hpp"

using namespace flashsale;
using namespace flashsale::cluster;

namespace {

envelope event_of(const std::string& stream, const std::string& type, std::int64_t seq,
                  std::int64_t version) {
  return envelope{seq, stream, version, type, R"({"order_id":"o-1","quantity":2})", 1764500000123};
}

} // namespace

TEST(PartitionRecord, EventsAreFilteredByTypeAndReadBackByTheirStream) {
  partition_names names;
  EXPECT_EQ(names.stream(7), "FLASHSALE_P7");
  EXPECT_EQ(names.all_subjects(7), "flashsale.p.7.>");
  EXPECT_EQ(names.event_subject(7, event_of("order-o-1", "OrderReserved", 3, 2)),
            "flashsale.p.7.order.o-1.OrderReserved");
  EXPECT_EQ(names.event_subject(7, event_of("product-iphone.17", "StockReserved", 4, 9)),
            "flashsale.p.7.product.iphone~17.StockReserved");
  EXPECT_EQ(names.stream_filter(7, "order-o-1"), "flashsale.p.7.order.o-1.*");
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.order.o-1.OrderReserved"), record_kind::event);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.product.x.StockSold"), record_kind::event);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.key"), record_kind::idempotency);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.ctl.claim"), record_kind::claim);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.ctl.beat"), record_kind::beat);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.7.ctl.release"), record_kind::release);
  EXPECT_EQ(names.kind_of(7, "flashsale.p.8.ctl.claim"), record_kind::unknown);
  EXPECT_EQ(names.control_subject(2, record_kind::release), "flashsale.p.2.ctl.release");
}

TEST(PartitionRecord, AnIdWithDotsIsOneSubjectTokenAndComesBack) {
  EXPECT_EQ(subject_token("a.b.c"), "a~b~c");
  EXPECT_EQ(id_of_token(subject_token("a.b:c-d_e")), "a.b:c-d_e");
}

TEST(PartitionRecord, TheWriterHeaderNamesNodeAndEpoch) {
  writer_id w{"node-a", 42};
  EXPECT_EQ(to_string(w), "node-a/42");
  ASSERT_TRUE(writer_of("node-a/42"));
  EXPECT_EQ(*writer_of("node-a/42"), w);
  EXPECT_FALSE(writer_of("node-a"));
  EXPECT_FALSE(writer_of("/42"));
  EXPECT_FALSE(writer_of("node-a/4x"));
}

TEST(PartitionRecord, AnEventBodyIsItsEnvelopeAndDecodesWithoutADom) {
  auto e = event_of("order-o-1", "OrderReserved", 12, 2);
  auto body = envelope_json(e);
  auto fast = fast_decode_envelope(body);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->seq, 12);
  EXPECT_EQ(fast->stream, "order-o-1");
  EXPECT_EQ(fast->version, 2);
  EXPECT_EQ(fast->type, "OrderReserved");
  EXPECT_EQ(fast->data, e.data);
  EXPECT_EQ(fast->recorded_at, e.recorded_at);
  auto any = envelope_of_body(body);
  ASSERT_TRUE(any);
  EXPECT_EQ(any->data, e.data);
}

TEST(PartitionRecord, AnEnvelopeTheFastPathDoesNotKnowTakesTheFullParser) {
  // Escapes and another key order: not what envelope_json writes, still an envelope.
  std::string body = R"({"seq":5,"stream":"order-o\"1","version":1,"type":"OrderPlaced",)"
                     R"("data":{"a":"x\"y"},"recorded_at":"2026-11-21T10:00:00.000Z"})";
  EXPECT_FALSE(fast_decode_envelope(body));
  auto e = envelope_of_body(body);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->stream, "order-o\"1");
  EXPECT_EQ(e->data, R"({"a":"x\"y"})");
  EXPECT_FALSE(envelope_of_body("{not json"));
  EXPECT_FALSE(
      fast_decode_envelope(R"({"data":{"a":1},"recorded_at":"2026-11-21T10:00:00.000Z"})"));
}

TEST(PartitionRecord, AnIdempotencyRecordRoundTrips) {
  idempotency_record r{"u-1", "key-1", "hash", "o-1", 201, R"({"x":1})", 17};
  auto back = idempotency_of_body(idempotency_body(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->user_id, "u-1");
  EXPECT_EQ(back->key, "key-1");
  EXPECT_EQ(back->request_hash, "hash");
  EXPECT_EQ(back->order_id, "o-1");
  EXPECT_EQ(back->status, 201);
  EXPECT_EQ(back->body, R"({"x":1})");
  EXPECT_EQ(back->recorded_at, 17);
  EXPECT_FALSE(idempotency_of_body(R"({"user_id":"u"})"));
}
