// The fence race: what cluster mode's partition logs rest on. Two writers, each with its own
// connection to a different server of an R3 JetStream cluster, publish at the same instant (both
// released by one atomic store, spinning until they see it) with the same expected sequence; the
// stream must store exactly one and refuse the other. Two fences:
//   stream:  Nats-Expected-Last-Sequence: <the stream's last seq>      on race.s.<trial>
//   subject: Nats-Expected-Last-Subject-Sequence: <the seed's seq>     on race.k.<trial>, after a
//            seed message there (a claim, then two owners' appends)
// Stream RACE (subjects race.>, R3, file storage) holds every trial. A fork is a trial where
// both were stored. Shared by tests/cluster/fence_race_test.cpp (>= 2.12 must show none) and
// bench/fence_race_bench.cpp (which runs it on 2.9.10 too).
#pragma once

#include <atomic>
#include <cctype>
#include <map>
#include <string>
#include <thread>

#include <nats/nats.h>

namespace flashsale::testing {

enum class fence_kind { stream, subject };

struct race_tally {
  int trials = 0;
  int forks = 0;       ///< both stored
  int one_stored = 0;  ///< the fence held
  int none_stored = 0; ///< both refused (not a fork, but not what a fence should do)
  std::map<std::string, int> refusals; ///< the refused writer's reason -> count
  std::string setup_error;             ///< the stream could not be made, a seed not stored
};

namespace race_detail {

struct outcome {
  bool stored = false;
  std::uint64_t seq = 0;
  std::string reason;
};

inline outcome publish(jsCtx* js, const std::string& subject, fence_kind kind,
                       std::uint64_t expect) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  (kind == fence_kind::stream ? po.ExpectLastSeq : po.ExpectLastSubjectSeq) = expect;
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&pa, js, subject.c_str(), "x", 1, &po, &jerr);
  outcome o;
  if (s == NATS_OK) {
    o.stored = true;
    o.seq = pa->Sequence;
  } else {
    const char* last = nats_GetLastError(nullptr);
    std::string text = last ? last : natsStatus_GetText(s);
    if (auto close = text.find("): "); text.rfind('(', 0) == 0 && close != std::string::npos)
      text.erase(0, close + 3); // nats.c's "(js.c:535): " source location
    while (!text.empty() && std::isdigit(static_cast<unsigned char>(text.back())))
      text.pop_back(); // "wrong last sequence: 41" -> one reason, whatever the number
    while (!text.empty() && (text.back() == ' ' || text.back() == ':'))
      text.pop_back();
    o.reason = std::to_string(static_cast<int>(jerr)) + " " + text;
  }
  jsPubAck_Destroy(pa);
  return o;
}

} // namespace race_detail

/// Creates stream RACE (or finds it); a message when it cannot (e.g. "no suitable peers for
/// placement" while a fresh cluster's servers still meet).
inline std::string ensure_race_stream(jsCtx* js) {
  const char* subjects[] = {"race.>"};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = "RACE";
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Replicas = 3;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_AddStream(nullptr, js, &sc, nullptr, &jerr) != NATS_OK && jerr != JSStreamNameExistErr)
    return std::string("stream RACE: ") + nats_GetLastError(nullptr);
  return "";
}

/// Runs `trials` races of `kind` between `a` and `b` (JetStream contexts on connections to two
/// different servers) on stream RACE, which `a` creates when missing.
inline race_tally run_fence_race(jsCtx* a, jsCtx* b, fence_kind kind, int trials) {
  race_tally t;
  if (t.setup_error = ensure_race_stream(a); !t.setup_error.empty())
    return t;
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, a, "RACE", nullptr, nullptr) != NATS_OK) {
    t.setup_error = std::string("stream RACE info: ") + nats_GetLastError(nullptr);
    return t;
  }
  std::uint64_t last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  if (last == 0) { // an expected sequence of 0 is no expectation at all to nats.c: never race on it
    auto seed = race_detail::publish(a, "race.seed", fence_kind::stream, 0);
    if (!seed.stored) {
      t.setup_error = "seed: " + seed.reason;
      return t;
    }
    last = seed.seq;
  }

  // Two writer threads, released together for each trial by `go`, spinning until they see it.
  std::atomic<int> go{-1}, done{0};
  std::atomic<bool> quit{false};
  std::string subject;
  std::uint64_t expect = 0;
  race_detail::outcome results[2];
  auto writer = [&](int w, jsCtx* js) {
    for (int seen = -1;;) {
      int trial;
      while ((trial = go.load(std::memory_order_acquire)) == seen && !quit)
        std::this_thread::yield();
      if (quit)
        return;
      seen = trial;
      results[w] = race_detail::publish(js, subject, kind, expect);
      done.fetch_add(1, std::memory_order_release);
    }
  };
  std::thread wa(writer, 0, a), wb(writer, 1, b);
  const std::string prefix = kind == fence_kind::stream ? "race.s." : "race.k.";
  for (int i = 0; i < trials && t.setup_error.empty(); ++i) {
    subject = prefix + std::to_string(last) + "-" + std::to_string(i); // unique per run
    if (kind == fence_kind::subject) { // the claim the two owners race behind
      auto seed = race_detail::publish(a, subject, fence_kind::stream, 0);
      if (!seed.stored) {
        t.setup_error = "seed on " + subject + ": " + seed.reason;
        break;
      }
      last = seed.seq;
    }
    expect = last;
    done = 0;
    go.store(i, std::memory_order_release);
    while (done.load(std::memory_order_acquire) < 2)
      std::this_thread::yield();
    ++t.trials;
    int stored = results[0].stored + results[1].stored;
    t.forks += stored == 2;
    t.one_stored += stored == 1;
    t.none_stored += stored == 0;
    for (auto& r : results)
      if (r.stored)
        last = std::max(last, r.seq);
      else
        ++t.refusals[r.reason];
  }
  quit = true;
  wa.join();
  wb.join();
  return t;
}

/// "trials=200 forks=0 one_stored=200 none_stored=0 refused: 10071 wrong last sequence: 1 x200"
inline std::string to_string(const race_tally& t) {
  std::string s = "trials=" + std::to_string(t.trials) + " forks=" + std::to_string(t.forks)
                  + " one_stored=" + std::to_string(t.one_stored)
                  + " none_stored=" + std::to_string(t.none_stored);
  for (auto& [reason, n] : t.refusals)
    s += " refused[" + reason + "]=" + std::to_string(n);
  return t.setup_error.empty() ? s : s + " setup_error=" + t.setup_error;
}

} // namespace flashsale::testing
