//===- mtgr_module.cpp - the Python module `mtgr`, over the C API ----------===//
//
// pybind11 (Debian's python3-pybind11) around include/mtgr/mtgr.h: the module
// is one more client of the C API, so Python and C see one surface. NumPy
// arrays in (copied by the C calls), NumPy arrays out; a failing call raises
// mtgr.Error (its `status`: the C status name) with the C API's message.
//
//   import mtgr
//   s = mtgr.Session("tiny.mtgr", device="cpu")
//   b = s.batch()
//   b.add_requests_json(open("requests.jsonl").read())
//   scores = s.score(b)          # float32 [tasks, candidates]
//
//===----------------------------------------------------------------------===//
#include "include/mtgr/mtgr.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

namespace py = pybind11;

namespace {
PyObject *errorType = nullptr;

const char *statusName(mtgr_status s) {
  switch (s) {
  case MTGR_OK: return "ok";
  case MTGR_INVALID_ARGUMENT: return "invalid_argument";
  case MTGR_NOT_FOUND: return "not_found";
  case MTGR_UNSUPPORTED: return "unsupported";
  case MTGR_FAILED: return "failed";
  }
  return "failed";
}

/// Raises mtgr.Error unless `s` is MTGR_OK.
void check(mtgr_status s) {
  if (s == MTGR_OK)
    return;
  py::object error = py::reinterpret_borrow<py::object>(errorType)(mtgr_last_error());
  error.attr("status") = statusName(s);
  PyErr_SetObject(errorType, error.ptr());
  throw py::error_already_set();
}

struct Session {
  std::shared_ptr<mtgr_session> handle;
};

struct Batch {
  std::shared_ptr<mtgr_session> session; // keeps the model alive
  std::unique_ptr<mtgr_batch, void (*)(mtgr_batch *)> handle{nullptr, mtgr_batch_release};
};

template <typename T> using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

Session open(const std::string &path, const std::string &device, unsigned threads,
             uint64_t maxMemory) {
  mtgr_session_options o{device.c_str(), threads, maxMemory};
  mtgr_session *s = nullptr;
  {
    py::gil_scoped_release unlocked;
    mtgr_status status = mtgr_session_create(path.c_str(), &o, &s);
    if (status != MTGR_OK) {
      py::gil_scoped_acquire locked;
      check(status);
    }
  }
  return Session{std::shared_ptr<mtgr_session>(s, mtgr_session_release)};
}

Batch makeBatch(const Session &s) {
  mtgr_batch *b = nullptr;
  check(mtgr_batch_create(s.handle.get(), &b));
  Batch out{s.handle};
  out.handle.reset(b);
  return out;
}

/// Calls `fn` with the GIL released (scoring and training take long; other
/// Python threads, e.g. other sessions, go on meanwhile).
template <typename F> mtgr_status unlocked(F fn) {
  py::gil_scoped_release release;
  return fn();
}
} // namespace

PYBIND11_MODULE(mtgr, m) {
  m.doc() = "mtgr: score and train compiled MTGR/HSTU models (the C API of include/mtgr/mtgr.h)";
  errorType = PyErr_NewExceptionWithDoc(
      "mtgr.Error", "A failing mtgr call: the message names what and where; .status is the "
                    "C status ('invalid_argument', 'not_found', 'unsupported', 'failed').",
      PyExc_RuntimeError, nullptr);
  m.attr("Error") = py::handle(errorType);
  m.attr("api_version") = mtgr_api_version();

  py::class_<Batch>(m, "Batch", "Requests of one session's model; build with Session.batch()")
      .def("add_requests_json",
           [](Batch &b, const std::string &jsonl) {
             check(mtgr_batch_add_requests_json(b.handle.get(), jsonl.c_str()));
           },
           py::arg("jsonl"), "Append requests, one JSON object per line (docs/requests.md).")
      .def("set_offsets",
           [](Batch &b, const std::string &group, Array<int64_t> a) {
             check(mtgr_batch_set_offsets(b.handle.get(), group.c_str(), a.data(), a.size()));
           },
           py::arg("group"), py::arg("offsets"), "B + 1 row offsets of 'sequence', 'realtime' or 'candidate'.")
      .def("set_times",
           [](Batch &b, const std::string &group, Array<int64_t> a) {
             check(mtgr_batch_set_times(b.handle.get(), group.c_str(), a.data(), a.size()));
           },
           py::arg("group"), py::arg("times"))
      .def("set_ids",
           [](Batch &b, const std::string &feature, Array<int64_t> a) {
             check(mtgr_batch_set_ids(b.handle.get(), feature.c_str(), a.data(), a.size()));
           },
           py::arg("feature"), py::arg("ids"), "A categorical feature '<group>.<name>', one id per row.")
      .def("set_values",
           [](Batch &b, const std::string &feature, Array<float> a) {
             check(mtgr_batch_set_values(b.handle.get(), feature.c_str(), a.data(), a.size()));
           },
           py::arg("feature"), py::arg("values"), "A dense feature '<group>.<name>', rows x width.")
      .def("set_user_ids",
           [](Batch &b, Array<int64_t> a) {
             check(mtgr_batch_set_user_ids(b.handle.get(), a.data(), a.size()));
           },
           py::arg("ids"))
      .def("set_labels",
           [](Batch &b, const std::string &task, Array<float> a) {
             check(mtgr_batch_set_labels(b.handle.get(), task.c_str(), a.data(), a.size()));
           },
           py::arg("task"), py::arg("labels"))
      .def_property_readonly("num_samples",
                             [](const Batch &b) { return mtgr_batch_num_samples(b.handle.get()); })
      .def_property_readonly("num_candidates", [](const Batch &b) {
        return mtgr_batch_num_candidates(b.handle.get());
      });

  py::class_<Session>(m, "Session", "A compiled artifact loaded on a device")
      .def(py::init(&open), py::arg("path"), py::arg("device") = "cpu", py::arg("threads") = 0,
           py::arg("max_memory") = 0)
      .def("batch", &makeBatch, "An empty batch of this session's model.")
      .def_property_readonly("tasks",
                             [](const Session &s) {
                               std::vector<std::string> names;
                               for (int64_t t = 0; t < mtgr_session_num_tasks(s.handle.get()); ++t)
                                 names.push_back(mtgr_session_task_name(s.handle.get(), t));
                               return names;
                             })
      .def_property_readonly("can_cache_prefix",
                             [](const Session &s) {
                               return mtgr_session_can_cache_prefix(s.handle.get()) == 1;
                             })
      .def("load_params",
           [](Session &s, const std::string &path) {
             check(mtgr_session_load_params(s.handle.get(), path.c_str()));
           },
           py::arg("npz_path"))
      .def("score",
           [](Session &s, const Batch &b) {
             int64_t tasks = mtgr_session_num_tasks(s.handle.get());
             int64_t K = mtgr_batch_num_candidates(b.handle.get());
             py::array_t<float> out({tasks, K});
             float *data = out.mutable_data();
             check(unlocked([&] {
               return mtgr_score(s.handle.get(), b.handle.get(), data, tasks * K, nullptr);
             }));
             return out;
           },
           py::arg("batch"),
           "Probabilities, float32 [tasks, candidates] (through the prefix cache when enabled).")
      .def("enable_prefix_cache",
           [](Session &s, uint64_t maxBytes, bool bf16) {
             check(mtgr_session_enable_prefix_cache(s.handle.get(), maxBytes, bf16 ? 1 : 0));
           },
           py::arg("max_bytes") = uint64_t(1) << 30, py::arg("bf16") = false)
      .def("cache_stats",
           [](const Session &s) {
             mtgr_cache_stats st;
             check(mtgr_session_cache_stats(s.handle.get(), &st));
             py::dict d;
             d["hits"] = st.hits, d["misses"] = st.misses, d["evictions"] = st.evictions;
             d["entries"] = st.entries, d["bytes"] = st.bytes;
             return d;
           })
      .def("train_step",
           [](Session &s, const Batch &b, uint64_t seed) {
             double loss = 0;
             check(unlocked(
                 [&] { return mtgr_train_step(s.handle.get(), b.handle.get(), seed, &loss); }));
             return loss;
           },
           py::arg("batch"), py::arg("seed") = 0, "One training step; returns the loss.");
}
