#include "limits/memory_rate_limiter.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace chatd::limits {
namespace {

constexpr std::size_t kMaxShards = 16;
// How far behind the latest reading a shard has seen a clock reading may be and still be
// taken for a late arrival rather than a clock that was set back (see Shard::observe).
constexpr std::int64_t kMaxReadingSkewUs = 1'000'000;

// Transparent hashing so that lookups by string_view do not build a std::string.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

}  // namespace

struct MemoryRateLimiter::Shard {
  // Entries ordered by expiry (the stored TAT); the pointer names the map key, which is
  // stable because unordered_map nodes never move. The pointer also makes equal expiries
  // distinct elements.
  using Expiry = std::pair<std::int64_t, const std::string*>;
  struct EarlierFirst {
    bool operator()(const Expiry& a, const Expiry& b) const {
      if (a.first != b.first) return a.first < b.first;
      return std::less<const std::string*>{}(a.second, b.second);  // a total order on pointers
    }
  };
  using ExpiryOrder = std::set<Expiry, EarlierFirst>;
  struct Entry {
    std::int64_t tat_us = 0;
    ExpiryOrder::iterator position;
  };

  std::mutex mu;
  std::size_t capacity = 1;
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
  ExpiryOrder by_expiry;
  std::int64_t latest_us = 0;  // the latest clock reading a request brought here

  // The time a request is counted at. Requests reach the lock in an order that need not be
  // the order their callers read the clock (one read it, then waited for a database lookup
  // while another read it later and came first), and GCRA's burst edge is exact: a reading
  // a little older than one already counted would look like a request from the past and be
  // refused while the burst is not used up. So within kMaxReadingSkewUs time never goes
  // back here (the late request is counted when it arrives); a larger step back is a clock
  // that was set back, taken as it is (rate_limiter.hpp bounds what that can cost).
  std::int64_t observe(std::int64_t now_us) {
    if (now_us >= latest_us || latest_us - now_us > kMaxReadingSkewUs) {
      latest_us = now_us;
      return now_us;
    }
    return latest_us;
  }

  // Moves an existing entry to its new place in the expiry order without allocating.
  void update(Entry& entry, std::int64_t tat_us) {
    auto node = by_expiry.extract(entry.position);
    node.value().first = tat_us;
    entry.tat_us = tat_us;
    entry.position = by_expiry.insert(std::move(node)).position;
  }

  void erase_first() {
    auto first = by_expiry.begin();
    auto entry = entries.find(*first->second);  // erase by iterator: the key dies with the node
    by_expiry.erase(first);
    entries.erase(entry);
  }

  std::size_t purge_expired(std::int64_t now_us) {
    std::size_t removed = 0;
    while (!by_expiry.empty() && by_expiry.begin()->first <= now_us) {
      erase_first();
      ++removed;
    }
    return removed;
  }

  void insert(std::string_view key, std::int64_t tat_us, std::int64_t now_us) {
    purge_expired(now_us);
    // Still full of live entries: forget the one closest to expiry (see the header).
    while (entries.size() >= capacity && !by_expiry.empty()) erase_first();
    auto it = entries.try_emplace(std::string(key)).first;
    it->second.tat_us = tat_us;
    it->second.position = by_expiry.emplace(tat_us, &it->first).first;
  }
};

MemoryRateLimiter::MemoryRateLimiter(std::size_t max_keys)
    : max_keys_(std::max<std::size_t>(max_keys, 1)),
      shard_count_(std::min(kMaxShards, max_keys_)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
  // Split the cap exactly so that the shards together never exceed max_keys; with at most
  // one shard per key of capacity, every shard can hold at least one entry.
  for (std::size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity = max_keys_ / shard_count_ + (i < max_keys_ % shard_count_ ? 1 : 0);
  }
}

MemoryRateLimiter::~MemoryRateLimiter() = default;

MemoryRateLimiter::Shard& MemoryRateLimiter::shard_for(std::string_view key) {
  // Mix the hash before choosing a shard: the map inside the shard uses the same hash, and
  // taking the shard from its low bits would leave every key of a shard sharing them.
  std::uint64_t h = KeyHash{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return shards_[h % shard_count_];
}

boost::asio::awaitable<Decision> MemoryRateLimiter::hit(std::string key, config::RateLimit rule, std::int64_t now_ms) {
  co_return take(key, rule, now_ms);
}

Decision MemoryRateLimiter::take(std::string_view key, const config::RateLimit& rule, std::int64_t now_ms) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mu);
  const std::int64_t now_us = shard.observe(now_ms * 1000);
  auto it = shard.entries.find(key);
  const std::int64_t stored = it == shard.entries.end() ? 0 : it->second.tat_us;
  GcraStep step = gcra_step(stored, rule, now_us, true);
  if (!step.decision.allowed) return step.decision;
  if (it != shard.entries.end()) {
    shard.update(it->second, step.new_tat_us);
  } else {
    shard.insert(key, step.new_tat_us, now_us);
  }
  return step.decision;
}

Decision MemoryRateLimiter::peek(std::string_view key, const config::RateLimit& rule, std::int64_t now_ms) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  const std::int64_t stored = it == shard.entries.end() ? 0 : it->second.tat_us;
  return gcra_step(stored, rule, shard.observe(now_ms * 1000), false).decision;
}

void MemoryRateLimiter::reset(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return;
  shard.by_expiry.erase(it->second.position);
  shard.entries.erase(it);
}

std::size_t MemoryRateLimiter::sweep(std::int64_t now_ms) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    removed += shards_[i].purge_expired(now_ms * 1000);
  }
  return removed;
}

std::size_t MemoryRateLimiter::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    total += shards_[i].entries.size();
  }
  return total;
}

}  // namespace chatd::limits
