//===- mtgr-serve.cpp - serve compiled artifacts over KServe v2 / HTTP -----===//
//
// mtgr-serve NAME=ARTIFACT[@VERSION] ... [--port=8000]: the Open Inference
// Protocol (KServe v2) over HTTP/REST for each artifact (docs/serving.md).
// SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.
//
//===----------------------------------------------------------------------===//
#include "app/SessionConfig.h"
#include "serve/Server.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

#include <csignal>
#include <pthread.h>

using namespace mtgr;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("mtgr-serve options");
cl::list<std::string> modelSpecs(cl::Positional, cl::OneOrMore,
                                 cl::desc("NAME=ARTIFACT[@VERSION] ... (version 1 by default)"), cl::cat(category));
cl::opt<std::string> host("host", cl::desc("IPv4 address to listen on"), cl::init("127.0.0.1"), cl::cat(category));
cl::opt<int> port("port", cl::desc("TCP port (0: any free port, printed)"), cl::init(8000), cl::cat(category));
cl::opt<std::string> deviceName("device", cl::desc("cpu, cuda or cuda-emu"), cl::init("cpu"), cl::cat(category));
cl::opt<unsigned> threads("num-threads", cl::desc("Threads per model (0: every core)"),
                          cl::init(0), cl::cat(category));
cl::opt<int64_t> maxBatchSamples("max-batch", cl::desc("Samples (users) one batched call takes"),
                                 cl::init(64), cl::cat(category));
cl::opt<double> batchDelayMs("batch-delay-ms",
                             cl::desc("How long a call waits for more requests to batch"),
                             cl::init(2.0), cl::cat(category));
cl::opt<unsigned> queueCapacity("queue", cl::desc("Requests waiting per model; more get 503"),
                                cl::init(64), cl::cat(category));
cl::opt<int> maxConnections("max-connections", cl::init(64),
                            cl::desc("Open connections; more are closed"), cl::cat(category));
cl::opt<uint64_t> maxBodyBytes("max-body", cl::desc("Request body bytes (after gzip)"),
                               cl::init(64ull << 20), cl::cat(category));
cl::opt<int64_t> maxCandidates("max-candidates", cl::desc("Candidates per request"),
                               cl::init(4096), cl::cat(category));
cl::opt<int64_t> maxSamples("max-samples", cl::desc("Users per request"), cl::init(256), cl::cat(category));
cl::opt<int64_t> maxTokens("max-tokens", cl::desc("Tokens per request"), cl::init(1 << 20), cl::cat(category));
cl::opt<uint64_t> cacheMiB("cache-mib",
                           cl::desc("Prefix cache per model in MiB, where the model has the "
                                    "prefix split (0: no cache)"),
                           cl::init(1024), cl::cat(category));
cl::opt<uint64_t> cacheDeviceMiB("cache-device-mib",
                                 cl::desc("On a GPU: MiB of cached rows kept in its memory "
                                          "(the rest stay in host memory)"),
                                 cl::init(1024), cl::cat(category));
cl::opt<bool> cacheBf16("cache-bf16", cl::desc("Keep cached rows in bf16"), cl::init(false), cl::cat(category));
cl::opt<int> readTimeout("read-timeout", cl::desc("Seconds a read or write may wait"),
                         cl::init(10), cl::cat(category));
cl::opt<std::string> trustedKeys("trusted-keys", cl::desc("Only artifacts signed by these keys"),
                                 cl::init(""), cl::cat(category));
cl::opt<bool> requireSignature("require-signature", cl::init(false),
                               cl::desc("Refuse unsigned artifacts"), cl::cat(category));

int error(const std::string &message) {
  llvm::errs() << "mtgr-serve: " << message << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category); // LLVM's own flags stay out of --help
  cl::ParseCommandLineOptions(
      argc, argv,
      "mtgr-serve: KServe v2 (Open Inference Protocol) over HTTP for compiled artifacts\n\n"
      "Examples:\n"
      "  mtgr-serve tiny=tiny.mtgr --port=8000\n"
      "  mtgr-serve small=small.mtgr@2 tiny=tiny.mtgr --max-batch=32 --cache-mib=4096\n"
      "  curl localhost:8000/v2/models/tiny\n"
      "  curl -d @request.json localhost:8000/v2/models/tiny/infer\n"
      "Endpoints: /v2, /v2/health/{live,ready}, /v2/models/NAME[/versions/V][/ready|/config|"
      "/infer], /metrics (docs/serving.md)\n");
  // Signals go to one thread, which stops the server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  serve::ServerOptions options;
  options.host = host, options.port = port;
  options.maxConnections = maxConnections;
  options.readTimeoutSeconds = readTimeout;
  options.queueCapacity = queueCapacity;
  options.maxBatchSamples = maxBatchSamples;
  options.batchDelayMs = batchDelayMs;
  options.cacheBytes = cacheMiB << 20;
  options.cacheBf16 = cacheBf16;
  options.cacheDeviceBytes = cacheDeviceMiB << 20;
  options.limits.maxBodyBytes = maxBodyBytes;
  options.limits.maxCandidates = maxCandidates;
  options.limits.maxSamples = maxSamples;
  options.limits.maxTokens = maxTokens;
  if (maxBatchSamples < 1 || queueCapacity < 1 || maxConnections < 1 || readTimeout < 1)
    return error("--max-batch, --queue, --max-connections and --read-timeout must be >= 1");
  serve::Server server(options);
  auto trust = trustPolicyFrom(trustedKeys, requireSignature);
  if (!trust)
    return error(llvm::toString(trust.takeError()));
  for (const std::string &spec : modelSpecs) {
    auto [name, rest] = llvm::StringRef(spec).split('=');
    auto [path, version] = rest.split('@');
    if (name.empty() || path.empty() || name.contains('/'))
      return error("model '" + spec + "': expected NAME=ARTIFACT[@VERSION]");
    auto artifact = Artifact::read(path);
    if (!artifact)
      return error(llvm::toString(artifact.takeError()));
    SessionOptions so;
    so.threads = threads;
    so.device = deviceName;
    so.trust = *trust;
    auto session = Session::create(std::move(*artifact), so);
    if (!session)
      return error(llvm::toString(session.takeError()));
    llvm::errs() << "mtgr-serve: model '" << name << "' version "
                 << (version.empty() ? "1" : version) << " from " << path
                 << ((*session)->canSplitPrefix() && options.cacheBytes
                         ? " (prefix cache on)"
                         : " (no prefix cache: " +
                               (options.cacheBytes ? (*session)->getArtifact().prefixSplitMissing
                                                   : std::string("--cache-mib=0")) +
                               ")")
                 << "\n";
    server.addModel(name.str(), version.empty() ? "1" : version.str(), std::move(*session));
  }
  std::string why;
  if (!server.start(why))
    return error(why);
  llvm::errs() << "mtgr-serve: listening on " << options.host << ":" << server.port() << "\n";
  llvm::errs().flush();
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    llvm::errs() << "mtgr-serve: signal " << sig << ": finishing the requests in flight\n";
    server.stop();
  });
  server.run();
  waiter.join();
  llvm::errs() << "mtgr-serve: stopped\n";
  return 0;
}
