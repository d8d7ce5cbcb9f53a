//===- Server.h - mtgr-serve: KServe v2 over HTTP/REST ------------*- C++ -*-===//
//
// One or more artifacts served by name and version (docs/serving.md). Each
// model has a bounded queue and a worker that batches concurrent requests
// (up to a number of samples, waiting at most a delay for more) into one
// call of the session, through the per-user prefix cache where the model
// has the split. HTTP by Boost.Beast (Debian's libboost-dev): its parser
// bounds the header block and the body (chunked included); gzip bodies are
// inflated here under the same cap; sockets time out reads and writes.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_SERVE_SERVER_H
#define MTGR_SERVE_SERVER_H

#include "runtime/PrefixCache.h"
#include "runtime/Session.h"
#include "serve/Protocol.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace mtgr::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000; // 0: any free port (Server::port() says which)
  Limits limits;
  int maxConnections = 64;                 // more are closed at once
  int readTimeoutSeconds = 10;             // per read of a request's bytes, and per write
  size_t queueCapacity = 64;               // requests waiting per model; more get 503
  int64_t maxBatchSamples = 64;            // samples one batched call takes
  double batchDelayMs = 2.0;               // how long the worker waits for more requests
  uint64_t cacheBytes = uint64_t(1) << 30; // prefix cache per model (0: none)
  bool cacheBf16 = false;
  /// On a GPU: bytes of cached rows kept in device memory (PrefixCache's
  /// device tier).
  uint64_t cacheDeviceBytes = uint64_t(1) << 30;
};

/// A served model: a session, its cache, its queue and batching worker.
class ServedModel {
public:
  ServedModel(std::string name, std::string version, std::unique_ptr<Session> session,
              const ServerOptions &options);
  ~ServedModel();
  const std::string &name() const { return modelName; }
  const std::string &version() const { return modelVersion; }
  const Session &session() const { return *sess; }
  /// Queues a request's batch; the future gets its scores (per task, its
  /// candidates' probabilities) or the error. nullopt: the queue is full.
  std::optional<std::future<llvm::Expected<std::vector<std::vector<float>>>>> submit(Batch batch);
  PrefixCache *cache() { return prefixCache.get(); }
  /// Calls made and samples scored (for /metrics' batch sizes).
  std::atomic<int64_t> calls{0}, samples{0}, requests{0};

private:
  struct Pending {
    Batch batch;
    std::promise<llvm::Expected<std::vector<std::vector<float>>>> done;
  };
  void work();

  std::string modelName, modelVersion;
  std::unique_ptr<Session> sess;
  std::unique_ptr<PrefixCache> prefixCache;
  const ServerOptions &options;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Pending> queue;
  bool stopping = false;
  std::thread worker;
};

class Server {
public:
  explicit Server(ServerOptions options) : options(std::move(options)) {}
  ~Server();
  /// Adds a model under `name` (and `version`, "1" by default).
  void addModel(const std::string &name, const std::string &version,
                std::unique_ptr<Session> session);
  /// Binds and listens; false with `error` set when it cannot.
  bool start(std::string &error);
  int port() const { return boundPort; }
  /// Serves until stop(): accepts connections, one thread each.
  void run();
  /// Stops accepting, lets in-flight requests finish (SIGTERM).
  void stop();

  /// One request's answer (also used by tests without a socket).
  struct Response {
    int status = 200;
    std::string contentType = "application/json", body;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Response handle(const std::string &method, const std::string &target,
                  const std::map<std::string, std::string> &headers, std::string body);

private:
  ServedModel *findModel(const std::string &name, const std::string &version);
  Response infer(ServedModel &model, const std::map<std::string, std::string> &headers,
                 std::string body);
  std::string metrics();
  void serveConnection(int fd);

  ServerOptions options;
  std::vector<std::unique_ptr<ServedModel>> models;
  int listenFd = -1, boundPort = 0;
  std::atomic<bool> stopping{false};
  std::mutex connectionsMutex;
  std::condition_variable connectionsDone;
  std::map<int, bool> connections; // fd -> busy with a request
  // Metrics.
  std::mutex metricsMutex;
  std::map<int, int64_t> responsesByStatus;
  static constexpr double kLatencyBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   5};
  std::vector<int64_t> latencyBuckets = std::vector<int64_t>(std::size(kLatencyBounds) + 1, 0);
  double latencySum = 0;
  int64_t latencyCount = 0;
};

} // namespace mtgr::serve

#endif
