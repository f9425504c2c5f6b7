// corefit's MPI transport: a Node-API addon over the system's MPI (Open MPI on Debian:
// openmpi-bin, libopenmpi-dev), built by native/mpi/build.mjs only where `mpicc` exists.
// Every call is made from one thread, corefit's communication thread (a worker_thread):
// a collective blocks its caller, and the event loop must never wait in one.
//
//   init() -> { rank, size, host, threadLevel }
//   allgather(send, recv, abortFlag, timeoutSeconds) -> 'done' | 'timeout' | 'aborted'
//   allgatherv(send, recv, recvCounts, recvDispls, abortFlag, timeoutSeconds) -> same
//   alltoallv(send, sendCounts, sendDispls, recv, recvCounts, recvDispls, abortFlag, timeoutSeconds) -> same
//   abort(code)      ends every rank of the job (MPI_Abort); does not return
//   finalize()
//
// Buffers are any typed arrays (SharedArrayBuffer views are passed in place); counts and
// displacements are in bytes, as Int32Arrays of one entry per rank. abortFlag is an
// Int32Array whose first element another thread sets to give up waiting.
#include <dlfcn.h>
#include <mpi.h>
#include <node_api.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace {

bool throw_error(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, ("corefit MPI: " + message).c_str());
  return false;
}

bool check(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  return pending ? false : throw_error(env, "Node-API call failed");
}

bool mpi_ok(napi_env env, int code, const char* what) {
  if (code == MPI_SUCCESS) return true;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return throw_error(env, std::string(what) + " failed: " + std::string(text, length));
}

struct Bytes {
  char* data = nullptr;
  size_t length = 0;
};

bool bytes(napi_env env, napi_value v, const char* name, Bytes* out) {
  bool is = false;
  if (!check(env, napi_is_typedarray(env, v, &is))) return false;
  if (!is) return throw_error(env, std::string(name) + " must be a typed array");
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (!check(env, napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset))) return false;
  size_t element = 1;
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: element = 1; break;
    case napi_int16_array: case napi_uint16_array: element = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: element = 4; break;
    default: element = 8; break;
  }
  out->data = static_cast<char*>(data);
  out->length = length * element;
  return true;
}

// An Int32Array of one entry per rank (counts, displacements in bytes).
bool per_rank(napi_env env, napi_value v, const char* name, int ranks, int** out) {
  bool is = false;
  if (!check(env, napi_is_typedarray(env, v, &is))) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (is && !check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr))) return false;
  if (!is || type != napi_int32_array || length != (size_t)ranks) {
    return throw_error(env, std::string(name) + " must be an Int32Array of " + std::to_string(ranks) + " entries");
  }
  *out = static_cast<int*>(data);
  return true;
}

// The end of a counts + displacements layout must lie inside the buffer.
bool fits(napi_env env, const int* counts, const int* displs, int ranks, size_t length, const char* name) {
  for (int r = 0; r < ranks; r++) {
    if (counts[r] < 0 || displs[r] < 0 || (size_t)counts[r] + (size_t)displs[r] > length) {
      return throw_error(env, std::string(name) + ": rank " + std::to_string(r) + "'s part lies outside the buffer");
    }
  }
  return true;
}

bool wait_arguments(napi_env env, napi_value flag_value, napi_value timeout_value, int32_t** flag, double* timeout) {
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!check(env, napi_is_typedarray(env, flag_value, &is))) return false;
  if (is && !check(env, napi_get_typedarray_info(env, flag_value, &type, &length, &data, nullptr, nullptr))) return false;
  if (!is || type != napi_int32_array || length < 1) return throw_error(env, "abortFlag must be an Int32Array");
  *flag = static_cast<int32_t*>(data);
  return check(env, napi_get_value_double(env, timeout_value, timeout));
}

// Waits for a non-blocking collective. Open MPI's blocking collectives poll a core at
// 100 % for as long as they wait, which starves the rank's own workers (and its peers
// on the same machine) while a slower rank computes. So: poll for SPIN seconds, where a
// peer usually arrives, then test and sleep in between: NAP at first, twice as long after
// every nap up to MAX_NAP, so that a long wait (a slow rank, the one-process reference of
// `bench --comm mpi`) costs the machine ~1,000 wake-ups per second instead of ~50,000
// (with 20 us naps throughout, the reference at batch 1000 ran at 41,000-47,000 samples/s instead
// of 83,000-91,000 on 2 cores). Gives up when another thread sets *flag, or after `timeout`
// seconds (0: never).
constexpr double SPIN = 200e-6;
constexpr long NAP_NS = 20000;
constexpr long MAX_NAP_NS = 1000000;

const char* wait(MPI_Request* request, const int32_t* flag, double timeout) {
  const double start = MPI_Wtime();
  long nap_ns = NAP_NS;
  for (;;) {
    int done = 0;
    MPI_Test(request, &done, MPI_STATUS_IGNORE);
    if (done) return "done";
    if (__atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0) return "aborted";
    const double waited = MPI_Wtime() - start;
    if (timeout > 0 && waited > timeout) return "timeout";
    if (waited > SPIN) {
      timespec nap{0, nap_ns};
      nanosleep(&nap, nullptr);
      nap_ns = nap_ns * 2 > MAX_NAP_NS ? MAX_NAP_NS : nap_ns * 2;
    }
  }
}

napi_value string_value(napi_env env, const char* s) {
  napi_value v;
  return check(env, napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v)) ? v : nullptr;
}

// The end of every collective: `started` is what starting it returned; then wait() for it.
napi_value waited(napi_env env, int started, const char* what, MPI_Request* request, const int32_t* flag,
                  double timeout) {
  if (!mpi_ok(env, started, what)) return nullptr;
  return string_value(env, wait(request, flag, timeout));
}

bool arguments(napi_env env, napi_callback_info info, size_t count, napi_value* argv) {
  size_t argc = count;
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr))) return false;
  return argc >= count || throw_error(env, "expected " + std::to_string(count) + " arguments");
}

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

napi_value init_js(napi_env env, napi_callback_info) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Open MPI's plugins (dlopen'ed by MPI_Init) resolve symbols of libmpi, which Node
    // loaded with this addon, privately: make them global first. A cheap guard.
    Dl_info where;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &where) != 0 && where.dli_fname != nullptr) {
      dlopen(where.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    }
    int provided = 0;
    if (!mpi_ok(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread")) return nullptr;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    // Sleeps in wait() of 20 us, not the default 50 us of timer slack more.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }
  int rank = 0, size = 0, provided = 0, length = 0;
  char host[MPI_MAX_PROCESSOR_NAME];
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Query_thread(&provided);
  MPI_Get_processor_name(host, &length);
  const char* levels[] = {"single", "funneled", "serialized", "multiple"};
  napi_value out, v;
  if (!check(env, napi_create_object(env, &out))) return nullptr;
  if (!check(env, napi_create_int32(env, rank, &v)) || !check(env, napi_set_named_property(env, out, "rank", v)) ||
      !check(env, napi_create_int32(env, size, &v)) || !check(env, napi_set_named_property(env, out, "size", v)) ||
      !check(env, napi_create_string_utf8(env, host, length, &v)) ||
      !check(env, napi_set_named_property(env, out, "host", v)) ||
      !check(env, napi_set_named_property(env, out, "threadLevel",
                                          string_value(env, provided >= 0 && provided <= 3 ? levels[provided] : "?")))) {
    return nullptr;
  }
  return out;
}

napi_value allgather_js(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Bytes send, recv;
  int32_t* flag = nullptr;
  double timeout = 0;
  if (!arguments(env, info, 4, argv) || !bytes(env, argv[0], "send", &send) || !bytes(env, argv[1], "recv", &recv) ||
      !wait_arguments(env, argv[2], argv[3], &flag, &timeout)) {
    return nullptr;
  }
  if (recv.length != send.length * (size_t)world_size()) {
    throw_error(env, "allgather: recv must hold send's bytes once per rank");
    return nullptr;
  }
  MPI_Request request;
  return waited(env, MPI_Iallgather(send.data, (int)send.length, MPI_BYTE, recv.data, (int)send.length, MPI_BYTE,
                                    MPI_COMM_WORLD, &request),
                "MPI_Iallgather", &request, flag, timeout);
}

napi_value allgatherv_js(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Bytes send, recv;
  int *counts = nullptr, *displs = nullptr;
  int32_t* flag = nullptr;
  double timeout = 0;
  const int ranks = world_size();
  if (!arguments(env, info, 6, argv) || !bytes(env, argv[0], "send", &send) || !bytes(env, argv[1], "recv", &recv) ||
      !per_rank(env, argv[2], "recvCounts", ranks, &counts) || !per_rank(env, argv[3], "recvDispls", ranks, &displs) ||
      !fits(env, counts, displs, ranks, recv.length, "allgatherv recv") ||
      !wait_arguments(env, argv[4], argv[5], &flag, &timeout)) {
    return nullptr;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if ((size_t)counts[rank] != send.length) {
    throw_error(env, "allgatherv: send must hold this rank's recvCounts bytes");
    return nullptr;
  }
  MPI_Request request;
  return waited(env, MPI_Iallgatherv(send.data, (int)send.length, MPI_BYTE, recv.data, counts, displs, MPI_BYTE,
                                     MPI_COMM_WORLD, &request),
                "MPI_Iallgatherv", &request, flag, timeout);
}

napi_value alltoallv_js(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  Bytes send, recv;
  int *send_counts = nullptr, *send_displs = nullptr, *recv_counts = nullptr, *recv_displs = nullptr;
  int32_t* flag = nullptr;
  double timeout = 0;
  const int ranks = world_size();
  if (!arguments(env, info, 8, argv) || !bytes(env, argv[0], "send", &send) ||
      !per_rank(env, argv[1], "sendCounts", ranks, &send_counts) ||
      !per_rank(env, argv[2], "sendDispls", ranks, &send_displs) ||
      !fits(env, send_counts, send_displs, ranks, send.length, "alltoallv send") ||
      !bytes(env, argv[3], "recv", &recv) || !per_rank(env, argv[4], "recvCounts", ranks, &recv_counts) ||
      !per_rank(env, argv[5], "recvDispls", ranks, &recv_displs) ||
      !fits(env, recv_counts, recv_displs, ranks, recv.length, "alltoallv recv") ||
      !wait_arguments(env, argv[6], argv[7], &flag, &timeout)) {
    return nullptr;
  }
  MPI_Request request;
  return waited(env, MPI_Ialltoallv(send.data, send_counts, send_displs, MPI_BYTE, recv.data, recv_counts, recv_displs,
                                    MPI_BYTE, MPI_COMM_WORLD, &request),
                "MPI_Ialltoallv", &request, flag, timeout);
}

napi_value abort_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t code = 1;
  if (!arguments(env, info, 1, argv) || !check(env, napi_get_value_int32(env, argv[0], &code))) return nullptr;
  MPI_Abort(MPI_COMM_WORLD, code);
  _exit(code);  // MPI_Abort does not return; should it, the rank still must not go on.
}

napi_value finalize_js(napi_env env, napi_callback_info) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) mpi_ok(env, MPI_Finalize(), "MPI_Finalize");
  return nullptr;
}

napi_property_descriptor function(const char* name, napi_callback cb) {
  return {name, nullptr, cb, nullptr, nullptr, nullptr, napi_default, nullptr};
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor exported[] = {
      function("init", init_js),           function("allgather", allgather_js), function("allgatherv", allgatherv_js),
      function("alltoallv", alltoallv_js), function("abort", abort_js),         function("finalize", finalize_js),
  };
  if (!check(env, napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported))) return nullptr;
  return exports;
}
