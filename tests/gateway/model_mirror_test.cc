// ModelMirror: session ops mirrored locally, and the one-request rebuild
// of a lost model session (shared prefix once, forks, own suffixes).
#include "services/gateway/model_mirror.h"

#include <catch2/catch.hpp>
#include <vector>

namespace fm::gateway {
namespace {

fm::v1::SequenceOp Append(int32_t id, std::vector<int32_t> tokens) {
  fm::v1::SequenceOp op;
  op.mutable_append()->set_sequence_id(id);
  op.mutable_append()->mutable_token_ids()->Assign(tokens.begin(),
                                                   tokens.end());
  return op;
}

fm::v1::SequenceOp Fork(int32_t from, int32_t to, int32_t length = 0) {
  fm::v1::SequenceOp op;
  op.mutable_fork()->set_source_sequence_id(from);
  op.mutable_fork()->set_new_sequence_id(to);
  op.mutable_fork()->set_length(length);
  return op;
}

fm::v1::SessionRequest Request(std::vector<fm::v1::SequenceOp> ops) {
  fm::v1::SessionRequest r;
  for (auto& op : ops) *r.add_ops() = std::move(op);
  return r;
}

std::vector<int32_t> Ids(const fm::v1::AppendOp& op) {
  return {op.token_ids().begin(), op.token_ids().end()};
}

TEST_CASE("the mirror follows append, fork, drop and truncate",
          "[gateway][mirror]") {
  ModelMirror m;
  m.Apply(Request({Append(0, {1, 5, 6})}));
  m.Apply(Request({Fork(0, 1), Fork(0, 2, 2), Append(1, {7}), Append(0, {8})}));
  fm::v1::SequenceOp drop;
  drop.mutable_drop()->set_sequence_id(2);
  fm::v1::SequenceOp truncate;
  truncate.mutable_truncate()->set_sequence_id(0);
  truncate.mutable_truncate()->set_length(3);
  m.Apply(Request({drop, truncate, Append(0, {9})}));
  CHECK(m.sequences().size() == 2);
  CHECK(m.sequences().at(0) == std::vector<int32_t>{1, 5, 6, 9});
  CHECK(m.sequences().at(1) == std::vector<int32_t>{1, 5, 6, 7});
}

TEST_CASE(
    "a rebuild prefills the shared prefix once and answers the lost "
    "request",
    "[gateway][mirror]") {
  ModelMirror m;
  // n = 3 after a prompt of 3 tokens; sequence 2 finished and was dropped
  // after one token; the lost request appended 12 and 14.
  m.Apply(Request({Append(0, {1, 5, 6})}));
  m.Apply(Request({Fork(0, 1), Fork(0, 2), Append(0, {10}), Append(1, {11}),
                   Append(2, {20})}));
  fm::v1::SequenceOp drop;
  drop.mutable_drop()->set_sequence_id(2);
  const fm::v1::SessionRequest lost =
      Request({Append(0, {12}), Append(1, {14}), drop});
  m.Apply(lost);
  fm::v1::LogitsFormat format;
  format.set_top_k(4);
  auto rebuild = m.MakeRebuild(format);
  REQUIRE(rebuild.ok());
  const fm::v1::SessionRequest& r = rebuild->request;
  CHECK(r.logits_format().top_k() == 4);
  REQUIRE(r.ops_size() == 4);
  REQUIRE(r.ops(0).has_append());
  CHECK(r.ops(0).append().sequence_id() == 0);
  CHECK(Ids(r.ops(0).append()) == std::vector<int32_t>{1, 5, 6});
  REQUIRE(r.ops(1).has_fork());
  CHECK(r.ops(1).fork().source_sequence_id() == 0);
  CHECK(r.ops(1).fork().new_sequence_id() == 1);
  CHECK(Ids(r.ops(2).append()) == std::vector<int32_t>{11, 14});
  CHECK(r.ops(2).append().sequence_id() == 1);
  CHECK(Ids(r.ops(3).append()) == std::vector<int32_t>{10, 12});
  CHECK(r.ops(3).append().sequence_id() == 0);

  // The model's answer to the rebuild: one result per append, in order.
  fm::v1::SessionResponse rebuilt;
  for (int i = 0; i < 3; ++i) {
    fm::v1::SequenceLogits* res = rebuilt.add_results();
    res->set_sequence_id(i == 0 ? 0 : i == 1 ? 1 : 0);
    res->add_logits()->set_vocab_size(100 + i);  // a marker per result
  }
  auto answer = ModelMirror::AnswerFromRebuild(lost, *rebuild, rebuilt);
  REQUIRE(answer.ok());
  REQUIRE(answer->results_size() == 2);
  CHECK(answer->results(0).sequence_id() == 0);
  CHECK(answer->results(0).logits(0).vocab_size() == 102);  // after 10, 12
  CHECK(answer->results(1).sequence_id() == 1);
  CHECK(answer->results(1).logits(0).vocab_size() == 101);  // after 11, 14
}

TEST_CASE("a rebuild forks every sequence before any own tokens",
          "[gateway][mirror]") {
  // Two forward passes whatever n is: shared prefix | forks | own tokens.
  ModelMirror m;
  m.Apply(Request({Append(0, {1, 2})}));
  m.Apply(Request({Fork(0, 1), Fork(0, 2), Append(0, {3}), Append(1, {4}),
                   Append(2, {5})}));
  auto rebuild = m.MakeRebuild({});
  REQUIRE(rebuild.ok());
  const fm::v1::SessionRequest& r = rebuild->request;
  REQUIRE(r.ops_size() == 6);
  CHECK(r.ops(0).has_append());
  CHECK(r.ops(1).has_fork());
  CHECK(r.ops(2).has_fork());
  for (int i = 3; i < 6; ++i) CHECK(r.ops(i).has_append());
  CHECK(rebuild->result_of.at(0) == 3);
  CHECK(rebuild->result_of.at(1) == 1);
  CHECK(rebuild->result_of.at(2) == 2);
}

TEST_CASE("a lost prefill is rebuilt as the prefill itself",
          "[gateway][mirror]") {
  ModelMirror m;
  const fm::v1::SessionRequest prefill = Request({Append(0, {1, 2, 3})});
  m.Apply(prefill);
  auto rebuild = m.MakeRebuild({});
  REQUIRE(rebuild.ok());
  REQUIRE(rebuild->request.ops_size() == 1);
  CHECK(Ids(rebuild->request.ops(0).append()) == std::vector<int32_t>{1, 2, 3});
  // A sequence equal to the shared prefix takes the prefix's logits.
  m.Apply(Request({Fork(0, 1)}));
  rebuild = m.MakeRebuild({});
  REQUIRE(rebuild.ok());
  REQUIRE(rebuild->request.ops_size() == 2);  // append, fork
  CHECK(rebuild->result_of.at(1) == 0);
  fm::v1::SessionResponse rebuilt;
  rebuilt.add_results()->add_logits();
  CHECK_FALSE(ModelMirror::AnswerFromRebuild(Request({Append(7, {4})}),
                                             *rebuild, rebuilt)
                  .ok());  // no such sequence: an error, not a crash
}

}  // namespace
}  // namespace fm::gateway
