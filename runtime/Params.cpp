//===- Params.cpp - parameter initialisation ------------------------------===//
#include "runtime/Params.h"
#include "runtime/Batch.h"

#include "llvm/Support/xxhash.h"

#include <cmath>
#include <random>

using namespace mtgr;

void ParamStore::set(const std::string &name, Tensor t) {
  if (!tensors.count(name))
    order.push_back(name);
  tensors[name] = std::move(t);
}

ParamStore ParamStore::shapesOnly(const std::vector<ParamSpec> &specs) {
  ParamStore store;
  for (const ParamSpec &p : specs)
    store.set(p.name, Tensor{p.shape, {}});
  return store;
}

ParamStore ParamStore::initialize(const std::vector<ParamSpec> &specs, uint64_t seed) {
  ParamStore store;
  for (const ParamSpec &p : specs) {
    Tensor t;
    t.shape = p.shape;
    t.data.resize(p.numel());
    std::mt19937_64 rng(splitmix64(seed ^ llvm::xxh3_64bits(p.name)));
    auto uniform = [&] { return (rng() >> 11) * 0x1.0p-53; }; // [0, 1)
    if (p.init == "ones") {
      std::fill(t.data.begin(), t.data.end(), 1.0f);
    } else if (p.init == "xavier_uniform") {
      double bound = std::sqrt(6.0 / static_cast<double>(p.shape[0] + p.shape[1]));
      for (float &x : t.data)
        x = static_cast<float>((2 * uniform() - 1) * bound);
    } else if (p.init == "normal") {
      for (float &x : t.data) { // Box-Muller
        double u1 = 1.0 - uniform(), u2 = uniform();
        x = static_cast<float>(p.std * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
      }
    } // zeros: already
    store.set(p.name, std::move(t));
  }
  return store;
}

void mtgr::randomizeForVerification(ParamStore &params, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const std::string &name : params.names()) {
    llvm::StringRef n(name);
    float scale = n.ends_with(".bias") || n.ends_with(".beta") || n.contains(".rab.") ? 0.2f
                  : n.ends_with(".gamma")                                            ? 0.3f
                  : n.starts_with("tables.")                                         ? 0.5f
                                                                                     : 0.0f;
    if (scale == 0.0f)
      continue;
    for (float &x : params.get(name).data)
      x = (n.ends_with(".gamma") ? 1.0f : 0.0f) + scale * u(rng);
  }
}

std::string mtgr::optimizerSlot(llvm::StringRef param, llvm::StringRef slot) {
  return (param + "/" + slot).str();
}
