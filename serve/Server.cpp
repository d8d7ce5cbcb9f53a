//===- Server.cpp - mtgr-serve: KServe v2 over HTTP/REST -------------------===//
#include "serve/Server.h"
#include "abi/Artifact.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cmath>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

using namespace mtgr;
using namespace mtgr::serve;
namespace http = boost::beast::http;
namespace json = llvm::json;

namespace {
std::string errorJson(const std::string &message) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << json::Value(json::Object{{"error", message}});
  return os.str();
}

Server::Response errorResponse(int status, const std::string &message) {
  return {status, "application/json", errorJson(message), {}};
}

/// Inflates a gzip (or zlib) body, refusing more than `limit` bytes out.
bool inflateCapped(const std::string &in, uint64_t limit, std::string &out, std::string &error) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) { // gzip or zlib header
    error = "cannot start inflating";
    return false;
  }
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef *>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      error = std::string("the gzip body does not inflate: ") + (z.msg ? z.msg : "corrupt data");
      inflateEnd(&z);
      return false;
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > limit) {
      error = "the body inflates to more than the limit of " + std::to_string(limit) + " bytes";
      inflateEnd(&z);
      return false;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      error = "the gzip body ends early";
      inflateEnd(&z);
      return false;
    }
  }
  inflateEnd(&z);
  return true;
}

std::vector<std::string> splitPath(const std::string &target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  llvm::SmallVector<llvm::StringRef> pieces;
  llvm::StringRef(path).split(pieces, '/', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef p : pieces)
    parts.push_back(p.str());
  return parts;
}
} // namespace

//===- A served model: queue and batching worker --------------------------===//

ServedModel::ServedModel(std::string name, std::string version, std::unique_ptr<Session> session,
                         const ServerOptions &options)
    : modelName(std::move(name)), modelVersion(std::move(version)), sess(std::move(session)),
      options(options) {
  if (options.cacheBytes > 0 && sess->canSplitPrefix())
    prefixCache = std::make_unique<PrefixCache>(
        PrefixCache::Options{options.cacheBytes, options.cacheBf16, options.cacheDeviceBytes});
  worker = std::thread([this] { work(); });
}

ServedModel::~ServedModel() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  ready.notify_all();
  worker.join();
}

std::optional<std::future<llvm::Expected<std::vector<std::vector<float>>>>>
ServedModel::submit(Batch batch) {
  std::lock_guard<std::mutex> lock(mutex);
  if (queue.size() >= options.queueCapacity || stopping)
    return std::nullopt;
  queue.push_back(Pending{std::move(batch), {}});
  auto future = queue.back().done.get_future();
  ready.notify_one();
  return future;
}

void ServedModel::work() {
  const ModelDesc &m = sess->model();
  for (;;) {
    std::vector<Pending> taken;
    {
      std::unique_lock<std::mutex> lock(mutex);
      ready.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty())
        return; // stopping, nothing left
      // Wait a little for more requests to batch with, unless full.
      auto queued = [&] {
        int64_t n = 0;
        for (const Pending &p : queue)
          n += p.batch.numSamples;
        return n;
      };
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::microseconds(static_cast<int64_t>(options.batchDelayMs * 1e3));
      ready.wait_until(lock, deadline,
                       [&] { return stopping || queued() >= options.maxBatchSamples; });
      int64_t samples = 0;
      while (!queue.empty() && (taken.empty() || samples + queue.front().batch.numSamples <=
                                                     options.maxBatchSamples)) {
        samples += queue.front().batch.numSamples;
        taken.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    Batch merged = makeEmptyBatch(m);
    for (const Pending &p : taken)
      appendBatch(m, merged, p.batch);
    auto result = prefixCache ? prefixCache->score(*sess, merged) : sess->forward(merged);
    ++calls;
    samples += merged.numSamples;
    if (!result) {
      std::string message = llvm::toString(result.takeError());
      for (Pending &p : taken)
        p.done.set_value(llvm::createStringError(llvm::inconvertibleErrorCode(), message));
      continue;
    }
    int64_t first = 0;
    for (Pending &p : taken) {
      int64_t K = p.batch.numCandidates();
      std::vector<std::vector<float>> scores(m.tasks.size());
      for (size_t t = 0; t < m.tasks.size(); ++t)
        for (int64_t c = first; c < first + K; ++c)
          scores[t].push_back(1.0f / (1.0f + std::exp(-result->logits[t][c])));
      first += K;
      p.done.set_value(std::move(scores));
    }
  }
}

//===- Routing ------------------------------------------------------------===//

Server::~Server() {
  if (listenFd >= 0)
    ::close(listenFd);
}

void Server::addModel(const std::string &name, const std::string &version,
                      std::unique_ptr<Session> session) {
  models.push_back(std::make_unique<ServedModel>(name, version, std::move(session), options));
}

ServedModel *Server::findModel(const std::string &name, const std::string &version) {
  for (auto &m : models)
    if (m->name() == name && (version.empty() || m->version() == version))
      return m.get();
  return nullptr;
}

Server::Response Server::handle(const std::string &method, const std::string &target,
                                const std::map<std::string, std::string> &headers,
                                std::string body) {
  std::vector<std::string> p = splitPath(target);
  auto get = [&] { return method == "GET" || method == "HEAD"; };
  auto json = [](json::Value v) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << v;
    return Response{200, "application/json", os.str(), {}};
  };
  if (p.size() == 1 && p[0] == "metrics" && get())
    return {200, "text/plain; version=0.0.4", metrics(), {}};
  if (p.empty() || p[0] != "v2")
    return errorResponse(404, "no such endpoint: " + target + " (KServe v2: /v2/...)");
  if (p.size() == 1 && get())
    return json(json::Object{{"name", "mtgr"},
                             {"version", compilerVersion()},
                             {"extensions", json::Array{"binary_tensor_data"}}});
  if (p.size() == 3 && p[1] == "health" && (p[2] == "live" || p[2] == "ready") && get())
    return p[2] == "ready" && stopping ? errorResponse(503, "shutting down")
                                       : Response{200, "application/json", "{}", {}};
  if (p.size() < 3 || p[1] != "models")
    return errorResponse(404, "no such endpoint: " + target);
  // /v2/models/{name}[/versions/{v}][/ready|/config|/infer]
  std::string name = p[2], version;
  size_t rest = 3;
  if (p.size() >= 5 && p[3] == "versions")
    version = p[4], rest = 5;
  ServedModel *model = findModel(name, version);
  if (!model)
    return errorResponse(404, "unknown model '" + name + "'" +
                                  (version.empty() ? "" : " version '" + version + "'"));
  std::string action = p.size() > rest ? p[rest] : "";
  if (p.size() > rest + 1)
    return errorResponse(404, "no such endpoint: " + target);
  const ModelDesc &m = model->session().model();
  if (action.empty() && get())
    return {200,
            "application/json",
            modelMetadata(m, model->name(), model->version(),
                          "mtgr_" + model->session().getArtifact().backend),
            {}};
  if (action == "ready" && get())
    return {200, "application/json", "{}", {}};
  if (action == "config" && get()) {
    // As Triton answers it (perf_analyzer reads inputs, outputs, batching).
    json::Array inputs, outputs;
    inputs.push_back(json::Object{
        {"name", "requests"}, {"data_type", "TYPE_STRING"}, {"dims", json::Array{-1}}});
    for (const TaskDesc &t : m.tasks)
      outputs.push_back(
          json::Object{{"name", t.name}, {"data_type", "TYPE_FP32"}, {"dims", json::Array{-1}}});
    return json(json::Object{{"name", model->name()},
                             {"platform", "mtgr"},
                             {"backend", "mtgr"},
                             {"max_batch_size", 0},
                             {"input", std::move(inputs)},
                             {"output", std::move(outputs)}});
  }
  if (action == "infer") {
    if (method != "POST")
      return errorResponse(405, "infer takes POST");
    return infer(*model, headers, std::move(body));
  }
  if (action == "infer" || action == "ready" || action == "config" || action.empty())
    return errorResponse(405, "method " + method + " not allowed on " + target);
  return errorResponse(404, "no such endpoint: " + target);
}

Server::Response Server::infer(ServedModel &model,
                               const std::map<std::string, std::string> &headers,
                               std::string body) {
  const ModelDesc &m = model.session().model();
  std::optional<uint64_t> jsonLength;
  if (auto it = headers.find("inference-header-content-length"); it != headers.end()) {
    uint64_t n = 0;
    if (llvm::StringRef(it->second).getAsInteger(10, n))
      return errorResponse(400, "Inference-Header-Content-Length '" + it->second +
                                    "' is not a byte count");
    jsonLength = n;
  }
  auto request = parseInferRequest(body, jsonLength, options.limits);
  if (!request)
    return errorResponse(400, llvm::toString(request.takeError()));
  auto batch = batchFromTensors(m, request->inputs, options.limits);
  if (!batch)
    return errorResponse(400, llvm::toString(batch.takeError()));
  ++model.requests;
  auto pending = model.submit(std::move(*batch));
  if (!pending)
    return errorResponse(503, "the queue of model '" + model.name() + "' is full (" +
                                  std::to_string(options.queueCapacity) +
                                  " requests): retry later");
  auto scores = pending->get();
  if (!scores)
    return errorResponse(500, llvm::toString(scores.takeError()));
  uint64_t headerLength = 0;
  std::string error;
  std::string text =
      inferResponse(m, model.name(), model.version(), *request, *scores, headerLength, error);
  if (!error.empty())
    return errorResponse(400, error);
  Response r{200, "application/json", std::move(text), {}};
  if (headerLength) {
    r.contentType = "application/octet-stream";
    r.headers.push_back({"Inference-Header-Content-Length", std::to_string(headerLength)});
  }
  return r;
}

std::string Server::metrics() {
  std::string out;
  llvm::raw_string_ostream os(out);
  std::lock_guard<std::mutex> lock(metricsMutex);
  os << "# HELP mtgr_http_responses_total HTTP responses by status code.\n"
     << "# TYPE mtgr_http_responses_total counter\n";
  for (auto [code, n] : responsesByStatus)
    os << "mtgr_http_responses_total{code=\"" << code << "\"} " << n << "\n";
  os << "# HELP mtgr_request_duration_seconds Time from a request's last byte to its answer.\n"
     << "# TYPE mtgr_request_duration_seconds histogram\n";
  int64_t cumulative = 0;
  for (size_t b = 0; b < std::size(kLatencyBounds); ++b) {
    cumulative += latencyBuckets[b];
    os << "mtgr_request_duration_seconds_bucket{le=\"" << llvm::formatv("{0}", kLatencyBounds[b])
       << "\"} " << cumulative << "\n";
  }
  os << "mtgr_request_duration_seconds_bucket{le=\"+Inf\"} " << latencyCount << "\n"
     << "mtgr_request_duration_seconds_sum " << llvm::formatv("{0:F6}", latencySum) << "\n"
     << "mtgr_request_duration_seconds_count " << latencyCount << "\n";
  auto family = [&](const char *name, const char *type, const char *help, auto value) {
    os << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    for (auto &model : models)
      os << name << "{model=\"" << model->name() << "\",version=\"" << model->version() << "\"} "
         << value(*model) << "\n";
  };
  family("mtgr_inference_requests_total", "counter", "Inference requests queued.",
         [](ServedModel &m) { return m.requests.load(); });
  family("mtgr_batch_calls_total", "counter", "Calls of the model (each a batch of requests).",
         [](ServedModel &m) { return m.calls.load(); });
  family("mtgr_batch_samples_total", "counter", "Samples (users) those calls scored.",
         [](ServedModel &m) { return m.samples.load(); });
  auto cache = [](ServedModel &m) { return m.cache() ? m.cache()->stats() : PrefixCache::Stats{}; };
  family("mtgr_prefix_cache_hits_total", "counter", "Users whose U and S rows were cached.",
         [&](ServedModel &m) { return cache(m).hits; });
  family("mtgr_prefix_cache_misses_total", "counter", "Users encoded (not cached).",
         [&](ServedModel &m) { return cache(m).misses; });
  family("mtgr_prefix_cache_evictions_total", "counter", "Users dropped from the cache.",
         [&](ServedModel &m) { return cache(m).evictions; });
  family("mtgr_prefix_cache_bytes", "gauge", "Bytes of cached rows.",
         [&](ServedModel &m) { return cache(m).bytes; });
  family("mtgr_prefix_cache_device_bytes", "gauge",
         "Bytes of cached rows in the device's memory (a GPU's; 0 on the CPU).",
         [&](ServedModel &m) { return m.session().deviceRowStats().bytes; });
  family("mtgr_prefix_cache_device_uploads_total", "counter",
         "Users' cached rows copied to the device's memory.",
         [&](ServedModel &m) { return m.session().deviceRowStats().uploaded; });
  family("mtgr_prefix_cache_device_reuses_total", "counter",
         "Users' cached rows found in the device's memory (no copy).",
         [&](ServedModel &m) { return m.session().deviceRowStats().reused; });
  return os.str();
}

//===- HTTP ---------------------------------------------------------------===//

bool Server::start(std::string &error) {
  listenFd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options.port));
  if (::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    error = "--host '" + options.host + "' is not an IPv4 address";
    return false;
  }
  if (::bind(listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(listenFd, 128) != 0) {
    error = "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
            std::strerror(errno);
    return false;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listenFd, reinterpret_cast<sockaddr *>(&addr), &len);
  boundPort = ntohs(addr.sin_port);
  return true;
}

void Server::run() {
  while (!stopping) {
    int fd = ::accept(listenFd, nullptr, nullptr);
    if (fd < 0) {
      if (stopping)
        break;
      continue;
    }
    std::lock_guard<std::mutex> lock(connectionsMutex);
    if (static_cast<int>(connections.size()) >= options.maxConnections || stopping) {
      ::close(fd); // over the limit: the client sees the connection closed
      continue;
    }
    connections[fd] = false;
    std::thread([this, fd] {
      serveConnection(fd);
      std::lock_guard<std::mutex> lock(connectionsMutex);
      connections.erase(fd);
      ::close(fd);
      connectionsDone.notify_all();
    }).detach();
  }
  // In-flight requests finish; idle connections were told to stop reading.
  std::unique_lock<std::mutex> lock(connectionsMutex);
  connectionsDone.wait(lock, [&] { return connections.empty(); });
}

void Server::stop() {
  stopping = true;
  if (listenFd >= 0)
    ::shutdown(listenFd, SHUT_RDWR);
  std::lock_guard<std::mutex> lock(connectionsMutex);
  for (auto [fd, busy] : connections)
    if (!busy)
      ::shutdown(fd, SHUT_RD);
}

void Server::serveConnection(int fd) {
  // A per-connection io_context, run one operation at a time: the stream's
  // timer bounds each read and write (a socket's SO_RCVTIMEO does not: asio
  // waits again after EAGAIN).
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  boost::system::error_code ec;
  stream.socket().assign(boost::asio::ip::tcp::v4(), ::dup(fd), ec);
  if (ec)
    return;
  auto timeout = std::chrono::seconds(options.readTimeoutSeconds);
  boost::beast::flat_buffer buffer;
  auto send = [&](const Response &r, unsigned version, bool keepAlive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "mtgr-serve");
    res.set(http::field::content_type, r.contentType);
    for (const auto &[k, v] : r.headers)
      res.set(k, v);
    res.keep_alive(keepAlive);
    res.body() = r.body;
    res.prepare_payload();
    boost::system::error_code wec;
    stream.expires_after(timeout);
    http::async_write(stream, res, [&](boost::system::error_code e, size_t) { wec = e; });
    io.restart();
    io.run();
    return !wec;
  };
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(options.limits.maxBodyBytes);
    stream.expires_after(timeout);
    http::async_read(stream, buffer, parser, [&](boost::system::error_code e, size_t) { ec = e; });
    io.restart();
    io.run();
    if (ec == http::error::body_limit) {
      send(errorResponse(413, "request body over the limit of " +
                                  std::to_string(options.limits.maxBodyBytes) + " bytes"),
           11, false);
      break;
    }
    if (ec == http::error::header_limit) {
      send(errorResponse(431, "request header block over 16 KiB"), 11, false);
      break;
    }
    if (ec) {
      // A timeout or a closed connection ends it; bytes that do not parse get a 400.
      if (ec != http::error::end_of_stream && ec != boost::asio::error::eof &&
          ec != boost::asio::error::connection_reset && ec != boost::beast::error::timeout &&
          buffer.size() > 0)
        send(errorResponse(400, "malformed HTTP request: " + ec.message()), 11, false);
      break;
    }
    {
      std::lock_guard<std::mutex> lock(connectionsMutex);
      connections[fd] = true;
    }
    auto started = std::chrono::steady_clock::now();
    http::request<http::string_body> req = parser.release();
    std::map<std::string, std::string> headers;
    size_t count = 0;
    for (const auto &field : req) {
      auto name = field.name_string();
      std::string key = llvm::StringRef(name.data(), name.size()).lower();
      headers[key] = std::string(field.value());
      ++count;
    }
    Response r;
    std::string body = std::move(req.body());
    if (count > 100) {
      r = errorResponse(431, "more than 100 header fields");
    } else if (auto enc = headers.find("content-encoding");
               enc != headers.end() && enc->second != "identity") {
      std::string inflated, error;
      if (enc->second != "gzip" && enc->second != "deflate")
        r = errorResponse(415,
                          "Content-Encoding '" + enc->second + "' (gzip and deflate are read)");
      else if (!inflateCapped(body, options.limits.maxBodyBytes, inflated, error))
        r = errorResponse(error.find("limit") != std::string::npos ? 413 : 400, error);
      else
        r = handle(std::string(req.method_string()), std::string(req.target()), headers,
                   std::move(inflated));
    } else {
      r = handle(std::string(req.method_string()), std::string(req.target()), headers,
                 std::move(body));
    }
    if (auto id = headers.find("x-request-id"); id != headers.end())
      r.headers.push_back({"X-Request-ID", id->second});
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
      std::lock_guard<std::mutex> lock(metricsMutex);
      ++responsesByStatus[r.status];
      size_t b = 0;
      while (b < std::size(kLatencyBounds) && seconds > kLatencyBounds[b])
        ++b;
      ++latencyBuckets[b];
      latencySum += seconds, ++latencyCount;
    }
    bool keepAlive = req.keep_alive() && !stopping;
    if (!send(r, req.version(), keepAlive) || !keepAlive)
      break;
    std::lock_guard<std::mutex> lock(connectionsMutex);
    connections[fd] = false;
  }
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
}
