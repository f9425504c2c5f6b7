// The Node-API surface of the native engine. Context-aware (NAPI_MODULE_INIT, no mutable
// globals), so every worker thread loads its own instance. Every argument is checked here,
// and a bad one throws a TypeError or RangeError: nothing below this file checks again.
//
//   new Engine(spec, maxRows, kernels)   spec: { inputSize, layers: [{ units, activation }], loss, target }
//                                  kernels: "auto" | "avx512" | "avx2" | "portable" (gemm.h)
//   engine.gradients(params, x, labels, features, rows, grad, accumulate) -> loss sum
//   engine.lossSum(params, x, labels, features, rows) -> loss sum
//   engine.predict(params, x, labels, features, rows, out, layer)   layer -1: the output layer
//   engine.dispose()
//   gradientSumOfSquares(slots, slotCount, size, begin, end, scale) -> sum of g^2 (kernels.h)
//   reduceAdam(params, m, v, slots, slotCount, begin, end, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
//              stepSize, epsHat, gradScale) -> whether every g was finite (kernels.h: reduce_adam)
//   gemm(kernels, product, B, K, N, a, b, c, bias, accumulate)   one product of a dense layer,
//                                  for tests and benchmarks (see gemm_js)
//   fmaPeak(kernels, seconds) -> GFLOP/s of FMAs on registers only: the core's peak (gemm.h)
//   kernelInfo() -> { chosen, paths: [{ name, isa, runs, whyNot }] }
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "model.h"

namespace {

// Per addon instance (each worker thread loads its own): the kernels the CPU runs best,
// chosen once at load, and gemm()'s work buffer.
struct Instance {
  KernelPath chosen;
  float* work = nullptr;  // malloc'd, grown by gemm()
  size_t work_floats = 0;
  ~Instance() { std::free(work); }
};

constexpr KernelPath ALL_PATHS[] = {KernelPath::Avx512, KernelPath::Avx2, KernelPath::Portable};

// Arrays the addon indexes with int (BLAS dimensions, row offsets) stay below this.
constexpr double MAX_INT = 2147483647.0;

// ---- Throwing: each helper throws a JS error and returns false. ----

bool throw_type(napi_env env, const std::string& message) {
  napi_throw_type_error(env, nullptr, ("corefit native engine: " + message).c_str());
  return false;
}

bool throw_range(napi_env env, const std::string& message) {
  napi_throw_range_error(env, nullptr, ("corefit native engine: " + message).c_str());
  return false;
}

// A failed Node-API call: keep the exception it left, or throw one saying what failed.
bool check(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info* info = nullptr;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, nullptr,
                     (std::string("corefit native engine: Node-API call failed: ") +
                      (info != nullptr && info->error_message != nullptr ? info->error_message : "unknown error"))
                         .c_str());
  }
  return false;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// ---- Reading arguments. ----

template <typename T>
struct Array {
  T* data = nullptr;
  size_t length = 0;
};

template <typename T>
bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, const char* type_name, const char* name,
                 Array<T>* out) {
  bool is = false;
  if (!check(env, napi_is_typedarray(env, v, &is))) return false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (is && !check(env, napi_get_typedarray_info(env, v, &type, &out->length, &data, nullptr, nullptr))) return false;
  if (!is || type != want) return throw_type(env, std::string(name) + " must be a " + type_name);
  out->data = static_cast<T*>(data);
  return true;
}

bool f32(napi_env env, napi_value v, const char* name, Array<float>* out) {
  return typed_array(env, v, napi_float32_array, "Float32Array", name, out);
}

bool f32_of_length(napi_env env, napi_value v, const char* name, size_t length, Array<float>* out) {
  if (!f32(env, v, name, out)) return false;
  if (out->length != length) {
    return throw_range(env, std::string(name) + " has " + std::to_string(out->length) + " floats, the model needs " +
                                std::to_string(length));
  }
  return true;
}

bool number(napi_env env, napi_value v, const char* name, double* out) {
  napi_valuetype t;
  if (!check(env, napi_typeof(env, v, &t))) return false;
  if (t != napi_number) return throw_type(env, std::string(name) + " must be a number");
  if (!check(env, napi_get_value_double(env, v, out))) return false;
  if (!std::isfinite(*out)) return throw_range(env, std::string(name) + " must be finite, got " + number_text(*out));
  return true;
}

// A number in [0, 1), like Adam's betas.
bool fraction(napi_env env, napi_value v, const char* name, double* out) {
  if (!number(env, v, name, out)) return false;
  return (*out >= 0 && *out < 1) || throw_range(env, std::string(name) + " must be in [0, 1), got " + number_text(*out));
}

bool positive(napi_env env, napi_value v, const char* name, double* out) {
  if (!number(env, v, name, out)) return false;
  return *out > 0 || throw_range(env, std::string(name) + " must be > 0, got " + number_text(*out));
}

bool integer(napi_env env, napi_value v, const char* name, double lo, double hi, double* out) {
  if (!number(env, v, name, out)) return false;
  if (*out != std::floor(*out) || *out < lo || *out > hi) {
    return throw_range(env, std::string(name) + " must be a whole number in [" + number_text(lo) + ", " +
                                number_text(hi) + "], got " + number_text(*out));
  }
  return true;
}

bool boolean(napi_env env, napi_value v, const char* name, bool* out) {
  napi_valuetype t;
  if (!check(env, napi_typeof(env, v, &t))) return false;
  if (t != napi_boolean) return throw_type(env, std::string(name) + " must be a boolean");
  return check(env, napi_get_value_bool(env, v, out));
}

bool string(napi_env env, napi_value v, const char* name, std::string* out) {
  napi_valuetype t;
  if (!check(env, napi_typeof(env, v, &t))) return false;
  if (t != napi_string) return throw_type(env, std::string(name) + " must be a string");
  char buf[64];
  size_t n = 0;
  if (!check(env, napi_get_value_string_utf8(env, v, buf, sizeof buf, &n))) return false;
  out->assign(buf, n);
  return true;
}

bool property(napi_env env, napi_value object, const char* key, napi_value* out) {
  return check(env, napi_get_named_property(env, object, key, out));
}

bool object(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  if (!check(env, napi_typeof(env, v, &t))) return false;
  return t == napi_object || throw_type(env, std::string(name) + " must be an object");
}

// Fetches exactly the arguments a function documents; missing ones are undefined.
bool arguments(napi_env env, napi_callback_info info, size_t count, napi_value* argv, napi_value* self) {
  size_t argc = count;
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, self, nullptr))) return false;
  if (argc < count) {
    return throw_type(env, "expected " + std::to_string(count) + " arguments, got " + std::to_string(argc));
  }
  return true;
}

// "auto" or a kernel path this CPU runs.
bool kernel_path(napi_env env, napi_value v, KernelPath* out) {
  std::string name;
  if (!string(env, v, "kernels", &name)) return false;
  Instance* instance = nullptr;
  if (!check(env, napi_get_instance_data(env, reinterpret_cast<void**>(&instance)))) return false;
  if (name == "auto") {
    *out = instance->chosen;
    return true;
  }
  for (KernelPath p : ALL_PATHS) {
    if (name != gemm_kernels(p).name) continue;
    const char* why_not = "";
    if (!kernel_path_runs(p, &why_not)) return throw_range(env, "kernels \"" + name + "\" cannot run here: " + why_not);
    *out = p;
    return true;
  }
  return throw_range(env, "kernels must be \"auto\", \"avx512\", \"avx2\" or \"portable\", got \"" + name + "\"");
}

// ---- The model spec. ----

bool activation(napi_env env, napi_value v, const std::string& where, Act* out) {
  std::string name;
  if (!string(env, v, (where + ".activation").c_str(), &name)) return false;
  static const struct {
    const char* name;
    Act act;
  } known[] = {{"linear", Act::Linear}, {"relu", Act::Relu}, {"sigmoid", Act::Sigmoid},
               {"tanh", Act::Tanh},     {"elu", Act::Elu},   {"softmax", Act::Softmax}};
  for (const auto& k : known) {
    if (name == k.name) {
      *out = k.act;
      return true;
    }
  }
  return throw_range(env, where + ": unknown activation \"" + name +
                              "\"; supported: linear, relu, sigmoid, tanh, elu, softmax");
}

bool loss(napi_env env, napi_value v, Loss* out) {
  std::string name;
  if (!string(env, v, "spec.loss", &name)) return false;
  if (name == "binary_crossentropy") *out = Loss::BinaryCrossentropy;
  else if (name == "mse") *out = Loss::Mse;
  else if (name == "mae") *out = Loss::Mae;
  else if (name == "categorical_crossentropy") *out = Loss::CategoricalCrossentropy;
  else if (name == "sparse_categorical_crossentropy") *out = Loss::SparseCategoricalCrossentropy;
  else {
    return throw_range(env, "unknown loss \"" + name +
                                "\"; supported: binary_crossentropy, mse, mae, categorical_crossentropy, "
                                "sparse_categorical_crossentropy");
  }
  return true;
}

bool layers(napi_env env, napi_value v, Model* m) {
  bool is = false;
  if (!check(env, napi_is_array(env, v, &is))) return false;
  if (!is) return throw_type(env, "spec.layers must be an array");
  uint32_t count = 0;
  if (!check(env, napi_get_array_length(env, v, &count))) return false;
  if (count == 0) return throw_range(env, "spec.layers is empty; the model needs at least one Dense layer");
  int inputs = m->input_size;
  for (uint32_t i = 0; i < count; i++) {
    const std::string where = "spec.layers[" + std::to_string(i) + "]";
    napi_value layer, units, act;
    double n = 0;
    Layer l{};
    if (!check(env, napi_get_element(env, v, i, &layer)) || !object(env, layer, where.c_str()) ||
        !property(env, layer, "units", &units) || !integer(env, units, (where + ".units").c_str(), 1, 1 << 24, &n) ||
        !property(env, layer, "activation", &act) || !activation(env, act, where, &l.act)) {
      return false;
    }
    if (l.act == Act::Softmax && i + 1 != count) return throw_range(env, where + ": softmax is only supported on the last layer");
    l.inputs = inputs;
    l.units = (int)n;
    inputs = l.units;
    m->layers.push_back(l);
  }
  return true;
}

bool target(napi_env env, napi_value v, Model* m) {
  std::string name;
  if (!string(env, v, "spec.target", &name)) return false;
  if (name != "input" && name != "label") return throw_range(env, "spec.target must be \"input\" or \"label\", got \"" + name + "\"");
  m->target_is_label = name == "label";
  return true;
}

// The pairings the engine computes; the same rules as validateSpec in src/model/spec.ts.
bool consistent(napi_env env, const Model& m) {
  const Layer& out = m.layers.back();
  const bool class_loss = is_class_loss(m.loss);
  if (class_loss != m.target_is_label) {
    return throw_range(env, class_loss ? "a categorical cross-entropy loss needs spec.target \"label\""
                                       : "spec.target \"label\" needs categorical_crossentropy or "
                                         "sparse_categorical_crossentropy");
  }
  if (!m.target_is_label && out.units != m.input_size) {
    return throw_range(env, "the model reconstructs its input, so its last layer needs " +
                                std::to_string(m.input_size) + " units, not " + std::to_string(out.units));
  }
  return true;
}

bool read_spec(napi_env env, napi_value spec, Model* m) {
  napi_value v;
  double input_size = 0;
  if (!object(env, spec, "spec") || !property(env, spec, "inputSize", &v) ||
      !integer(env, v, "spec.inputSize", 1, 1 << 24, &input_size)) {
    return false;
  }
  m->input_size = (int)input_size;
  if (!property(env, spec, "layers", &v) || !layers(env, v, m) || !property(env, spec, "loss", &v) ||
      !loss(env, v, &m->loss) || !property(env, spec, "target", &v) || !target(env, v, m) || !consistent(env, *m)) {
    return false;
  }
  const Layer& out = m->layers.back();
  m->fused_output = (m->loss == Loss::BinaryCrossentropy && out.act == Act::Sigmoid) ||
                    (is_class_loss(m->loss) && out.act == Act::Softmax);
  return true;
}

// ---- The Engine class. ----

void finalize_model(napi_env env, void* data, void*) {
  Model* m = static_cast<Model*>(data);
  int64_t unused;
  napi_adjust_external_memory(env, -(int64_t)m->arena_bytes, &unused);
  delete m;
}

napi_value engine_new(napi_env env, napi_callback_info info) {
  napi_value argv[3], self, new_target = nullptr;
  if (!check(env, napi_get_new_target(env, info, &new_target))) return nullptr;
  if (new_target == nullptr) {
    throw_type(env, "Engine must be called with new");
    return nullptr;
  }
  if (!arguments(env, info, 3, argv, &self)) return nullptr;
  Model* m = new (std::nothrow) Model();
  if (m == nullptr) {
    throw_range(env, "out of memory");
    return nullptr;
  }
  double max_rows = 0;
  KernelPath path;
  bool ok = read_spec(env, argv[0], m) && integer(env, argv[1], "maxRows", 1, MAX_INT, &max_rows) &&
            kernel_path(env, argv[2], &path);
  if (ok) {
    m->gemm = &gemm_kernels(path);
    m->max_rows = (int)max_rows;
    int widest = m->input_size;
    for (const Layer& l : m->layers) widest = l.units > widest ? l.units : widest;
    if (max_rows * widest > MAX_INT) {
      ok = throw_range(env, "maxRows " + number_text(max_rows) + " times the widest layer (" + std::to_string(widest) +
                                ") is over 2^31 floats; use smaller batches");
    } else if (!model_allocate(*m)) {
      ok = throw_range(env, "out of memory allocating " + std::to_string(m->arena_bytes >> 20) +
                                " MiB of workspaces for maxRows " + number_text(max_rows));
    }
  }
  if (!ok || !check(env, napi_wrap(env, self, m, finalize_model, nullptr, nullptr))) {
    delete m;
    return nullptr;
  }
  int64_t unused;
  napi_adjust_external_memory(env, (int64_t)m->arena_bytes, &unused);
  return self;
}

// `this` engine and its arguments; throws when the engine was disposed.
Model* method(napi_env env, napi_callback_info info, size_t count, napi_value* argv) {
  napi_value self;
  if (!arguments(env, info, count, argv, &self)) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) {
    throw_type(env, "this engine was disposed (or the method was called without its engine)");
    return nullptr;
  }
  return static_cast<Model*>(data);
}

// The rows of one call: argv = params, x, labels, features, rows. With labels, checks
// that every row's label is a class of the output layer (for a label target).
struct Batch {
  const float* params;
  const float* x;
  const uint8_t* labels;
  const int32_t* rows;
  int B;
};

bool read_batch(napi_env env, const Model& m, napi_value* argv, bool with_labels, Batch* b) {
  Array<float> params, x;
  Array<uint8_t> labels;
  Array<int32_t> rows;
  double features = 0;
  if (!f32_of_length(env, argv[0], "params", m.param_count, &params) || !f32(env, argv[1], "data.x", &x) ||
      !typed_array(env, argv[2], napi_uint8_array, "Uint8Array", "data.labels", &labels) ||
      !integer(env, argv[3], "data.features", 1, MAX_INT, &features) ||
      !typed_array(env, argv[4], napi_int32_array, "Int32Array", "rows", &rows)) {
    return false;
  }
  if ((int)features != m.input_size) {
    return throw_range(env, "data has " + number_text(features) + " features per row, the model's input has " +
                                std::to_string(m.input_size));
  }
  if (x.length % m.input_size != 0) {
    return throw_range(env, "data.x has " + std::to_string(x.length) + " floats, not a whole number of rows of " +
                                std::to_string(m.input_size));
  }
  const size_t data_rows = x.length / m.input_size;
  const bool check_labels = with_labels && m.target_is_label;
  if (check_labels && labels.length != data_rows) {
    return throw_range(env, "data.labels has " + std::to_string(labels.length) + " entries for " +
                                std::to_string(data_rows) + " data rows");
  }
  if (rows.length > (size_t)m.max_rows) {
    return throw_range(env, "rows has " + std::to_string(rows.length) + " entries, more than this engine's maxRows " +
                                std::to_string(m.max_rows));
  }
  const int classes = m.layers.back().units;
  for (size_t i = 0; i < rows.length; i++) {
    const int32_t r = rows.data[i];
    if (r < 0 || (size_t)r >= data_rows) {
      return throw_range(env, "rows[" + std::to_string(i) + "] = " + std::to_string(r) + " is outside the data's " +
                                  std::to_string(data_rows) + " rows");
    }
    if (check_labels && labels.data[r] >= classes) {
      return throw_range(env, "label " + std::to_string(labels.data[r]) + " of data row " + std::to_string(r) +
                                  " is not a class of the " + std::to_string(classes) + "-unit output layer");
    }
  }
  *b = Batch{params.data, x.data, labels.data, rows.data, (int)rows.length};
  return true;
}

napi_value double_value(napi_env env, double v) {
  napi_value out = nullptr;
  check(env, napi_create_double(env, v, &out));
  return out;
}

// Forward, loss and backward; writes (or adds) d(sum of row losses)/d(params) into grad.
napi_value engine_gradients(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  Model* m = method(env, info, 7, argv);
  Batch b;
  Array<float> grad;
  bool accumulate = false;
  if (m == nullptr || !read_batch(env, *m, argv, true, &b) ||
      !f32_of_length(env, argv[5], "grad", m->param_count, &grad) || !boolean(env, argv[6], "accumulate", &accumulate)) {
    return nullptr;
  }
  if (b.B == 0) {
    if (!accumulate) std::memset(grad.data, 0, sizeof(float) * grad.length);
    return double_value(env, 0.0);
  }
  return double_value(env, model_gradients(*m, b.params, b.x, b.labels, b.rows, b.B, grad.data, accumulate));
}

napi_value engine_loss_sum(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Model* m = method(env, info, 5, argv);
  Batch b;
  if (m == nullptr || !read_batch(env, *m, argv, true, &b)) return nullptr;
  if (b.B == 0) return double_value(env, 0.0);
  model_gather(*m, b.x, b.labels, b.rows, b.B);
  model_forward(*m, b.params, b.B, (int)m->layers.size() - 1, true);
  return double_value(env, model_loss(*m, b.B));
}

napi_value engine_predict(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  Model* m = method(env, info, 7, argv);
  Batch b;
  Array<float> out;
  double layer = 0;
  if (m == nullptr || !read_batch(env, *m, argv, false, &b) || !f32(env, argv[5], "out", &out) ||
      !integer(env, argv[6], "layer", -1, (double)m->layers.size() - 1, &layer)) {
    return nullptr;
  }
  const int last = layer < 0 ? (int)m->layers.size() - 1 : (int)layer;
  const size_t n = (size_t)b.B * m->layers[last].units;
  if (out.length < n) {
    throw_range(env, "out has " + std::to_string(out.length) + " floats, " + std::to_string(b.B) + " rows of layer " +
                         std::to_string(last) + " need " + std::to_string(n));
    return nullptr;
  }
  if (b.B == 0) return nullptr;
  model_gather(*m, b.x, b.labels, b.rows, b.B);
  model_forward(*m, b.params, b.B, last, false);
  std::memcpy(out.data, m->layers[last].out, sizeof(float) * n);
  return nullptr;
}

napi_value engine_dispose(napi_env env, napi_callback_info info) {
  napi_value self;
  if (!arguments(env, info, 0, nullptr, &self)) return nullptr;
  void* data = nullptr;
  if (napi_remove_wrap(env, self, &data) == napi_ok && data != nullptr) finalize_model(env, data, nullptr);
  return nullptr;
}

// ---- Functions over the shared buffers of a parallel step. ----

// A chunk [begin, end) of an array of `size` floats.
bool chunk(napi_env env, napi_value* argv, size_t size, size_t* begin, size_t* end) {
  double b = 0, e = 0;
  if (!integer(env, argv[0], "begin", 0, (double)size, &b) || !integer(env, argv[1], "end", b, (double)size, &e)) {
    return false;
  }
  *begin = (size_t)b;
  *end = (size_t)e;
  return true;
}

// slots (argv[0]) holding slotCount (argv[1]) slots of `size` floats each.
bool slot_array(napi_env env, napi_value* argv, size_t size, Array<float>* slots, int* slot_count) {
  double count = 0;
  if (!f32(env, argv[0], "slots", slots) || !integer(env, argv[1], "slotCount", 1, MAX_INT, &count)) return false;
  if (count * (double)size > (double)slots->length) {
    return throw_range(env, "slots has " + std::to_string(slots->length) + " floats, fewer than slotCount " +
                                number_text(count) + " x size " + std::to_string(size));
  }
  *slot_count = (int)count;
  return true;
}

napi_value gradient_sum_of_squares_js(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Array<float> slots;
  int slot_count = 0;
  double size = 0, scale = 0;
  size_t begin = 0, end = 0;
  if (!arguments(env, info, 6, argv, nullptr) || !integer(env, argv[2], "size", 0, MAX_INT, &size) ||
      !slot_array(env, argv, (size_t)size, &slots, &slot_count) || !chunk(env, argv + 3, (size_t)size, &begin, &end) ||
      !number(env, argv[5], "scale", &scale)) {
    return nullptr;
  }
  return double_value(env, mean_gradient_sum_of_squares(slots.data, slot_count, (size_t)size, begin, end, (float)scale));
}

// The scalars come from adamScalars in src/optim/adam.ts, each already a float32: the
// step's bias corrections and clipping scale are decided there, once, and applied here.
napi_value reduce_adam_js(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  Array<float> params, m, v, slots;
  int slot_count = 0;
  double beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, step_size = 0, eps_hat = 0, grad_scale = 0;
  size_t begin = 0, end = 0;
  if (!arguments(env, info, 14, argv, nullptr) || !f32(env, argv[0], "params", &params) ||
      !f32_of_length(env, argv[1], "m", params.length, &m) || !f32_of_length(env, argv[2], "v", params.length, &v) ||
      !slot_array(env, argv + 3, params.length, &slots, &slot_count) ||
      !chunk(env, argv + 5, params.length, &begin, &end) || !fraction(env, argv[7], "beta1", &beta1) ||
      !positive(env, argv[8], "oneMinusBeta1", &one_minus_beta1) || !fraction(env, argv[9], "beta2", &beta2) ||
      !positive(env, argv[10], "oneMinusBeta2", &one_minus_beta2) || !number(env, argv[11], "stepSize", &step_size) ||
      !positive(env, argv[12], "epsHat", &eps_hat) || !number(env, argv[13], "gradScale", &grad_scale)) {
    return nullptr;
  }
  const AdamScalars a{(float)beta1,     (float)one_minus_beta1, (float)beta2,     (float)one_minus_beta2,
                      (float)step_size, (float)eps_hat,         (float)grad_scale};
  const bool finite = reduce_adam(params.data, m.data, v.data, slots.data, slot_count, params.length, begin, end, a);
  napi_value out = nullptr;
  check(env, napi_get_boolean(env, finite, &out));
  return out;
}

// One product of a dense layer on the given kernels (gemm.h), for tests and benchmarks:
//   "forward":    c[B, N] = a[B, K] @ b[K, N] + bias[N]
//   "weightGrad": c[K, N] (+)= a[B, K]^T @ b[B, N], bias[N] (+)= the sum of b's rows
//   "inputGrad":  c[B, K] = a[B, N] @ b[K, N]^T (bias is not read)
napi_value gemm_js(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  KernelPath path;
  std::string product;
  double B = 0, K = 0, N = 0;
  Array<float> a, b, c, bias;
  bool accumulate = false;
  if (!arguments(env, info, 10, argv, nullptr) || !kernel_path(env, argv[0], &path) ||
      !string(env, argv[1], "product", &product) || !integer(env, argv[2], "B", 1, 1 << 16, &B) ||
      !integer(env, argv[3], "K", 1, 1 << 16, &K) || !integer(env, argv[4], "N", 1, 1 << 16, &N) ||
      !f32(env, argv[5], "a", &a) || !f32(env, argv[6], "b", &b) || !f32(env, argv[7], "c", &c) ||
      !f32(env, argv[8], "bias", &bias) || !boolean(env, argv[9], "accumulate", &accumulate)) {
    return nullptr;
  }
  const double BK = B * K, KN = K * N, BN = B * N;
  struct Shape {
    const char* name;
    double a, b, c, bias;
  } const shapes[] = {{"forward", BK, KN, BN, N}, {"weightGrad", BK, BN, KN, N}, {"inputGrad", BN, KN, BK, 0}};
  const Shape* shape = nullptr;
  for (const Shape& s : shapes) shape = product == s.name ? &s : shape;
  if (shape == nullptr) {
    throw_range(env, "product must be \"forward\", \"weightGrad\" or \"inputGrad\", got \"" + product + "\"");
    return nullptr;
  }
  if ((double)a.length < shape->a || (double)b.length < shape->b || (double)c.length < shape->c ||
      (double)bias.length < shape->bias) {
    throw_range(env, product + ": a, b, c or bias is shorter than its shape for B " + number_text(B) + ", K " +
                         number_text(K) + ", N " + number_text(N));
    return nullptr;
  }
  Instance* instance = nullptr;
  if (!check(env, napi_get_instance_data(env, reinterpret_cast<void**>(&instance)))) return nullptr;
  const size_t work = gemm_work_floats((int)K, (int)N);
  if (instance->work_floats < work) {
    float* grown = static_cast<float*>(std::realloc(instance->work, sizeof(float) * work));
    if (grown == nullptr) {
      throw_range(env, "out of memory");
      return nullptr;
    }
    instance->work = grown;
    instance->work_floats = work;
  }
  const GemmKernels& g = gemm_kernels(path);
  if (product == "forward") {
    g.forward(c.data, a.data, b.data, bias.data, Act::Linear, (int)B, (int)K, (int)N, instance->work);
  } else if (product == "weightGrad") {
    g.weight_grad(c.data, bias.data, a.data, b.data, (int)B, (int)K, (int)N, accumulate, instance->work);
  } else {
    g.input_grad(c.data, a.data, b.data, nullptr, Act::Linear, (int)B, (int)K, (int)N, instance->work);
  }
  return nullptr;
}

napi_value fma_peak_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  KernelPath path;
  double seconds = 0;
  if (!arguments(env, info, 2, argv, nullptr) || !kernel_path(env, argv[0], &path) ||
      !positive(env, argv[1], "seconds", &seconds)) {
    return nullptr;
  }
  return double_value(env, fma_peak_gflops(gemm_kernels(path), seconds));
}

napi_value kernel_info_js(napi_env env, napi_callback_info) {
  Instance* instance = nullptr;
  napi_value out, chosen, paths;
  if (!check(env, napi_get_instance_data(env, reinterpret_cast<void**>(&instance))) ||
      !check(env, napi_create_object(env, &out)) ||
      !check(env, napi_create_string_utf8(env, gemm_kernels(instance->chosen).name, NAPI_AUTO_LENGTH, &chosen)) ||
      !check(env, napi_set_named_property(env, out, "chosen", chosen)) ||
      !check(env, napi_create_array(env, &paths)) || !check(env, napi_set_named_property(env, out, "paths", paths))) {
    return nullptr;
  }
  uint32_t i = 0;
  for (KernelPath p : ALL_PATHS) {
    const char* why_not = "";
    const bool runs = kernel_path_runs(p, &why_not);
    napi_value path, name, isa, runs_v, why;
    if (!check(env, napi_create_object(env, &path)) ||
        !check(env, napi_create_string_utf8(env, gemm_kernels(p).name, NAPI_AUTO_LENGTH, &name)) ||
        !check(env, napi_create_string_utf8(env, gemm_kernels(p).isa, NAPI_AUTO_LENGTH, &isa)) ||
        !check(env, napi_get_boolean(env, runs, &runs_v)) ||
        !check(env, napi_create_string_utf8(env, runs ? "" : why_not, NAPI_AUTO_LENGTH, &why)) ||
        !check(env, napi_set_named_property(env, path, "name", name)) ||
        !check(env, napi_set_named_property(env, path, "isa", isa)) ||
        !check(env, napi_set_named_property(env, path, "runs", runs_v)) ||
        !check(env, napi_set_named_property(env, path, "whyNot", why)) ||
        !check(env, napi_set_element(env, paths, i++, path))) {
      return nullptr;
    }
  }
  return out;
}

void finalize_instance(napi_env, void* data, void*) { delete static_cast<Instance*>(data); }

napi_property_descriptor function(const char* name, napi_callback cb) {
  return {name, nullptr, cb, nullptr, nullptr, nullptr, napi_default, nullptr};
}

}  // namespace

NAPI_MODULE_INIT() {
  Instance* instance = new (std::nothrow) Instance{kernel_path_choose()};
  if (instance == nullptr || !check(env, napi_set_instance_data(env, instance, finalize_instance, nullptr))) {
    delete instance;
    if (instance == nullptr) napi_throw_range_error(env, nullptr, "corefit native engine: out of memory");
    return nullptr;
  }
  const napi_property_descriptor methods[] = {
      function("gradients", engine_gradients),
      function("lossSum", engine_loss_sum),
      function("predict", engine_predict),
      function("dispose", engine_dispose),
  };
  napi_value engine;
  if (!check(env, napi_define_class(env, "Engine", NAPI_AUTO_LENGTH, engine_new, nullptr,
                                    sizeof methods / sizeof methods[0], methods, &engine))) {
    return nullptr;
  }
  const napi_property_descriptor exported[] = {
      {"Engine", nullptr, nullptr, nullptr, nullptr, engine, napi_enumerable, nullptr},
      function("gradientSumOfSquares", gradient_sum_of_squares_js),
      function("reduceAdam", reduce_adam_js),
      function("gemm", gemm_js),
      function("fmaPeak", fma_peak_js),
      function("kernelInfo", kernel_info_js),
  };
  if (!check(env, napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported))) return nullptr;
  return exports;
}
