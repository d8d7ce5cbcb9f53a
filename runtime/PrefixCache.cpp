//===- PrefixCache.cpp - per-user encoded U and S rows, reused across requests -===//
#include "runtime/PrefixCache.h"
#include "model/Error.h"

#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>

using namespace mtgr;

namespace {
/// Entries' ids (PrefixRows::Piece::id), unique in the process: a session
/// may serve several caches, and an id is never another entry's.
std::atomic<uint64_t> lastEntryId{0};

/// Round to nearest even (finite values; the rows are finite or the
/// forward's NaN check would have failed).
uint16_t toBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

/// Appends the bytes of `v` to a running hash input.
template <typename T> void put(std::string &bytes, const std::vector<T> &v, size_t from, size_t n) {
  bytes.append(reinterpret_cast<const char *>(v.data() + from), n * sizeof(T));
}
} // namespace

uint64_t mtgr::prefixInputsHash(const ModelDesc &m, const Batch &batch, int64_t b) {
  std::string bytes;
  for (size_t f = 0; f < m.user.size(); ++f) {
    const FeatureColumn &col = batch.user[f];
    if (m.user[f].isCategorical())
      put(bytes, col.ids, b, 1);
    else
      put(bytes, col.values, b * m.user[f].denseDim, m.user[f].denseDim);
  }
  int64_t s0 = batch.sequenceOffsets[b], s1 = batch.sequenceOffsets[b + 1];
  put(bytes, batch.sequenceTimes, s0, s1 - s0);
  for (size_t f = 0; f < m.sequence.size(); ++f) {
    const FeatureColumn &col = batch.sequence[f];
    if (m.sequence[f].isCategorical())
      put(bytes, col.ids, s0, s1 - s0);
    else
      put(bytes, col.values, s0 * m.sequence[f].denseDim, (s1 - s0) * m.sequence[f].denseDim);
  }
  return llvm::xxh3_64bits(llvm::StringRef(bytes));
}

std::shared_ptr<const PrefixCache::Entry> PrefixCache::find(const Key &key) {
  auto it = slots.find(key);
  if (it == slots.end())
    return nullptr;
  lru.splice(lru.begin(), lru, it->second.age); // most recent
  return it->second.entry;
}

void PrefixCache::insert(Session &session, const Key &key, std::shared_ptr<const Entry> entry) {
  if (entry->bytes > options.maxBytes)
    return; // larger than the whole cache: scored, not kept
  if (auto it = slots.find(key); it != slots.end()) {
    session.forgetOnDevice(it->second.entry->id);
    counts.bytes -= it->second.entry->bytes;
    lru.erase(it->second.age);
    slots.erase(it);
    --counts.entries;
  }
  while (counts.bytes + entry->bytes > options.maxBytes && !lru.empty()) {
    auto oldest = slots.find(lru.back());
    session.forgetOnDevice(oldest->second.entry->id);
    counts.bytes -= oldest->second.entry->bytes;
    slots.erase(oldest);
    lru.pop_back();
    --counts.entries, ++counts.evictions;
  }
  lru.push_front(key);
  counts.bytes += entry->bytes;
  ++counts.entries;
  slots[key] = Slot{std::move(entry), lru.begin()};
}

PrefixCache::Stats PrefixCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex);
  return counts;
}

void PrefixCache::clear() {
  std::lock_guard<std::mutex> lock(mutex);
  slots.clear();
  lru.clear();
  counts.entries = 0, counts.bytes = 0;
}

llvm::Expected<ForwardResult> PrefixCache::score(Session &session, const Batch &batch,
                                                 const std::vector<uint64_t> &versions) {
  const ModelDesc &m = session.model();
  if (!session.canSplitPrefix())
    return fail("prefix cache: model '" + m.name +
                "' has no prefix split: " + session.getArtifact().prefixSplitMissing);
  if (auto e = validateBatch(m, batch))
    return std::move(e);
  if (!versions.empty() && static_cast<int64_t>(versions.size()) != batch.numSamples)
    return fail("prefix cache: " + std::to_string(versions.size()) + " versions for " +
                std::to_string(batch.numSamples) + " samples");
  // Held for the lookups, the encoding and the inserts; not while scoring
  // (the entries used are held by `entries`).
  std::unique_lock<std::mutex> lock(mutex);
  const size_t layers = static_cast<size_t>(m.layers);
  const int64_t kWidth = m.heads * m.dqk, vWidth = m.heads * m.dv;
  // Each sample's entry: found, or encoded below (a user twice in the batch
  // is encoded once). Held here, so that inserting cannot evict one in use.
  std::vector<std::shared_ptr<const Entry>> entries(static_cast<size_t>(batch.numSamples));
  std::vector<Key> keys;
  std::map<Key, std::vector<int64_t>> missing; // key -> its samples
  std::vector<int64_t> toEncode;
  for (int64_t b = 0; b < batch.numSamples; ++b) {
    Key key{batch.userIds[b], versions.empty() ? prefixInputsHash(m, batch, b) : versions[b]};
    keys.push_back(key);
    if ((entries[b] = find(key))) {
      ++counts.hits;
      continue;
    }
    ++counts.misses;
    auto [it, fresh] = missing.try_emplace(key);
    if (fresh)
      toEncode.push_back(b);
    it->second.push_back(b);
  }
  if (!toEncode.empty()) {
    Batch users = selectSamples(m, batch, toEncode);
    auto rows = session.encodePrefix(users);
    if (!rows)
      return rows.takeError();
    for (size_t i = 0; i < toEncode.size(); ++i) {
      auto entry = std::make_shared<Entry>();
      entry->id = ++lastEntryId;
      int64_t r0 = rows->offsets[i], r1 = rows->offsets[i + 1];
      entry->rows = r1 - r0;
      for (size_t l = 0; l < layers; ++l)
        for (auto [from, width, full, half] :
             {std::tuple{&rows->keys[l], kWidth, &entry->keys, &entry->keys16},
              std::tuple{&rows->values[l], vWidth, &entry->values, &entry->values16}}) {
          auto begin = from->begin() + r0 * width, end = from->begin() + r1 * width;
          if (options.bf16) {
            std::vector<uint16_t> &h = half->emplace_back();
            for (auto it = begin; it != end; ++it)
              h.push_back(toBf16(*it));
            entry->bytes += h.size() * 2;
          } else {
            full->emplace_back(begin, end);
            entry->bytes += full->back().size() * 4;
          }
        }
      const Key &key = keys[toEncode[i]];
      for (int64_t b : missing[key])
        entries[b] = entry;
      insert(session, key, std::move(entry));
    }
  }
  // The batch's rows, a piece per sample, read in place from the entries
  // (held by `entries` through the call). On a device with memory of its
  // own the session keeps them there under the entry's id (the device
  // tier); bf16 rows are widened only when the device does not hold them.
  session.keepPrefixRowsOnDevice(options.deviceBytes);
  PrefixRows prefix;
  prefix.offsets.push_back(0);
  std::deque<std::vector<float>> widened;
  for (auto [b, e] : llvm::enumerate(entries)) {
    prefix.offsets.push_back(prefix.offsets.back() + e->rows);
    PrefixRows::Piece &piece = prefix.pieces.emplace_back();
    piece.rows = e->rows;
    // Only rows the cache still holds go to the device tier (not those
    // evicted by this batch's own inserts, or too large to keep).
    auto slot = slots.find(keys[b]);
    if (slot != slots.end() && slot->second.entry == e)
      piece.id = e->id;
    if (options.bf16 && piece.id && session.holdsOnDevice(piece.id))
      continue;
    for (size_t l = 0; l < layers; ++l) {
      if (!options.bf16) {
        piece.keys.push_back(e->keys[l]);
        piece.values.push_back(e->values[l]);
        continue;
      }
      for (auto [half, to] :
           {std::pair{&e->keys16[l], &piece.keys}, std::pair{&e->values16[l], &piece.values}}) {
        std::vector<float> &f = widened.emplace_back(half->size());
        std::transform(half->begin(), half->end(), f.begin(), fromBf16);
        to->push_back(f);
      }
    }
  }
  lock.unlock();
  return session.scoreCandidates(batch, prefix);
}
