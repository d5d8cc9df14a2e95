// output_memo: slots handed out in order, the oldest key evicted and its slot
// reused at capacity, evicted keys remembered while capacity < limit (and
// forgotten by grow), keys compared as numbers, against a reference model
// (an insertion-ordered list) over random operations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "windowing/output_memo.h"

using chronotick::MemoKey;
using chronotick::OutputMemo;

namespace {
MemoKey key(int i) { return MemoKey{1.7e9 + i, 1e-3 * i, static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL}; }
}  // namespace

TEST(slots_in_order_then_oldest_reused) {
  OutputMemo m(3, 8);
  CHECK(m.add(key(0)) == 0);
  CHECK(m.add(key(1)) == 1);
  CHECK(m.add(key(2)) == 2);
  CHECK(m.find(key(1)) == 1);
  CHECK(m.add(key(3)) == 0);          // key 0 evicted, its slot reused
  CHECK(m.find(key(0)) == -1);
  CHECK(m.find(key(3)) == 0);
  CHECK(m.size() == 3);
  CHECK((m.slots() == std::vector<std::int64_t>{1, 2, 0}));
}

TEST(a_key_added_twice_keeps_its_slot) {
  // was: order_ held it twice, and its second eviction dereferenced end() (a static analysis)
  OutputMemo m(2, 2);
  CHECK(m.add(key(0)) == 0);
  CHECK(m.add(key(0)) == 0 && m.size() == 1);
  CHECK(m.add(key(1)) == 1);
  CHECK(m.add(key(2)) == 0 && m.find(key(0)) == -1);   // key 0 evicted once, its slot reused
  CHECK(m.add(key(3)) == 1 && m.find(key(1)) == -1);
  CHECK(m.add(key(4)) == 0 && m.size() == 2);
  std::vector<std::int64_t> s = m.slots();
  CHECK(s.size() == 2 && s[0] == 1 && s[1] == 0);
}

TEST(evicted_keys_remembered_until_grow) {
  OutputMemo m(2, 8);
  m.add(key(0));
  m.add(key(1));
  m.add(key(2));                       // evicts 0
  CHECK(m.evicted(key(0)));
  CHECK(!m.evicted(key(1)));
  CHECK(!m.evicted(key(5)));
  m.grow();
  CHECK(m.capacity() == 4);
  CHECK(!m.evicted(key(0)));
  m.grow();
  m.grow();
  CHECK(m.capacity() == 8);            // capped at the limit
  OutputMemo full(2, 2);               // at the limit: evictions not tracked
  full.add(key(0));
  full.add(key(1));
  full.add(key(2));
  CHECK(!full.evicted(key(0)));
}

TEST(keys_compare_as_numbers) {
  OutputMemo m(4, 4);
  m.add(MemoKey{0.0, 0.0, 7});
  CHECK(m.find(MemoKey{-0.0, -0.0, 7}) == 0);
  CHECK(m.find(MemoKey{0.0, 0.0, 8}) == -1);
  CHECK(m.find(MemoKey{0.0, 1e-300, 7}) == -1);
}

TEST(bad_capacity_refused) {
  bool threw = false;
  try {
    OutputMemo m(0, 4);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  OutputMemo m(2, 4);
  threw = false;
  try {
    m.set_capacity(5);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

TEST(nan_keys_refused_clear_keeps_the_evicted) {
  OutputMemo m(2, 8);
  bool threw = false;
  try {
    m.add(MemoKey{std::nan(""), 0.0, 1});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  CHECK(m.size() == 0);
  m.add(key(0));
  m.add(key(1));
  m.add(key(2));                       // evicts 0
  m.clear();
  CHECK(m.size() == 0 && m.find(key(1)) == -1);
  CHECK(m.evicted(key(0)));            // as the OrderedDict memo's clear() left its evicted keys
  CHECK(m.add(key(5)) == 0);           // slots from 0 again
}

TEST(a_smaller_capacity_evicts_one_per_add) {
  OutputMemo m(4, 8);
  for (int i = 0; i < 4; ++i) m.add(key(i));
  m.set_capacity(2);
  CHECK(m.size() == 4);
  CHECK(m.add(key(9)) == 0);           // key 0's slot
  CHECK(m.size() == 4 && m.find(key(0)) == -1 && m.find(key(1)) == 1);
}

TEST(find_prefixes_marks_short_and_missing_prefixes) {
  OutputMemo m(8, 8);
  const double t[] = {10.0, 11.0, 12.0, 13.0};
  const double y[] = {0.1, 0.2, 0.3, 0.4};
  const std::uint64_t h[] = {5, 6, 7, 8};
  m.add(MemoKey{11.0, 0.2, 6});
  m.add(MemoKey{13.0, 0.4, 8});
  const std::int64_t ends[] = {1, 2, 3, 4};
  std::int64_t slots[4];
  CHECK(m.find_prefixes(t, y, ends, h, 4, -99, slots) == 1);
  CHECK(slots[0] == -1 && slots[1] == 0 && slots[2] == -99 && slots[3] == 1);
}

// Against a reference: keys in insertion order with their slots.
TEST(random_operations_match_reference) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 50; ++round) {
    const std::size_t limit = 4 + rng() % 60;
    std::size_t cap = 1 + rng() % limit;
    OutputMemo m(cap, limit);
    std::vector<std::pair<int, std::int64_t>> ref;   // (key id, slot), oldest first
    std::vector<int> ghosts;   // ids evicted since the last grow (once each, at most limit, oldest first)
    for (int op = 0; op < 400; ++op) {
      const int id = static_cast<int>(rng() % 80);
      const auto it = std::find_if(ref.begin(), ref.end(), [id](const auto& e) { return e.first == id; });
      CHECK(m.find(key(id)) == (it == ref.end() ? -1 : it->second));
      const bool ghost = std::find(ghosts.begin(), ghosts.end(), id) != ghosts.end();
      CHECK(m.evicted(key(id)) == ghost);
      if (rng() % 20 == 0) {
        m.grow();
        cap = std::min(limit, 2 * cap);
        ghosts.clear();
        CHECK(m.capacity() == cap);
      }
      if (it != ref.end()) continue;
      std::int64_t slot;
      if (ref.size() >= cap) {
        slot = ref.front().second;
        const int gone = ref.front().first;
        if (cap < limit && std::find(ghosts.begin(), ghosts.end(), gone) == ghosts.end()) {
          ghosts.push_back(gone);
          if (ghosts.size() > limit) ghosts.erase(ghosts.begin());   // the oldest forgotten
        }
        ref.erase(ref.begin());
      } else {
        slot = static_cast<std::int64_t>(ref.size());
      }
      CHECK(m.add(key(id)) == slot);
      ref.emplace_back(id, slot);
      CHECK(m.size() == ref.size());
    }
  }
}

TEST_MAIN()
