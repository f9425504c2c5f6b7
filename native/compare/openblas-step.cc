// The engine benchmark's reference: the native engine's training step (model.cc, the same
// layer code) with OpenBLAS's cblas_sgemm in place of corefit's GEMM kernels. Built and run
// by `npm run bench:engine` (bench/openblas.ts) only where OpenBLAS is installed; the
// engine itself never links it.
//
//   openblas-step ROWS_FILE BATCH SECONDS INPUTS UNITS:ACTIVATION...
//
// ROWS_FILE holds float32 rows of INPUTS features; the model's loss is binary
// cross-entropy against its input (the seed model's). Prints one JSON line with the
// OpenBLAS build, its core, and samples/s of the full step (gather, forward, loss,
// backward; no Adam) and of the step's GEMMs alone, each from the fastest of its timings.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../activation.h"
#include "../model.h"

extern "C" char* openblas_get_corename(void);

namespace {

// The three products of gemm.h, on cblas_sgemm, with the same epilogues.
void forward(float* c, const float* x, const float* w, const float* bias, Act act, int B, int K, int N, float*) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, N, K, 1.0f, x, K, w, N, 0.0f, c, N);
  for (int r = 0; r < B; r++) bias_activation(c + (size_t)r * N, bias, act, N);
}

void weight_grad(float* dw, float* db, const float* x, const float* d, int B, int K, int N, bool accumulate, float*) {
  if (!accumulate) std::memset(db, 0, sizeof(float) * N);
  for (int p = 0; p < B; p++) {
    for (int j = 0; j < N; j++) db[j] += d[(size_t)p * N + j];
  }
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, B, 1.0f, x, K, d, N, accumulate ? 1.0f : 0.0f, dw, N);
}

void input_grad(float* din, const float* d, const float* w, const float* out, Act act, int B, int K, int N, float*) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, N, 1.0f, d, N, w, N, 0.0f, din, K);
  activation_derivative(din, out, act, (size_t)B * K);
}

const GemmKernels OPENBLAS = {"openblas", "OpenBLAS cblas_sgemm", forward, weight_grad, input_grad};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool parse_layer(const char* arg, int inputs, Layer* l) {
  const char* colon = std::strchr(arg, ':');
  if (colon == nullptr) return false;
  const std::string act(colon + 1);
  const struct {
    const char* name;
    Act act;
  } known[] = {{"linear", Act::Linear}, {"relu", Act::Relu}, {"sigmoid", Act::Sigmoid}, {"tanh", Act::Tanh},
               {"elu", Act::Elu}};
  for (const auto& k : known) {
    if (act == k.name) {
      *l = Layer{inputs, std::atoi(arg), k.act, 0, 0, nullptr};
      return l->units > 0;
    }
  }
  return false;
}

int usage() {
  std::fprintf(stderr, "usage: openblas-step ROWS_FILE BATCH SECONDS INPUTS UNITS:ACTIVATION...\n");
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return usage();
  const int B = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  Model m;
  m.input_size = std::atoi(argv[4]);
  m.max_rows = B;
  m.loss = Loss::BinaryCrossentropy;
  m.gemm = &OPENBLAS;
  int inputs = m.input_size;
  for (int i = 5; i < argc; i++) {
    Layer l;
    if (!parse_layer(argv[i], inputs, &l)) return usage();
    m.layers.push_back(l);
    inputs = l.units;
  }
  if (B <= 0 || !(seconds > 0) || m.input_size <= 0 || inputs != m.input_size) return usage();
  m.fused_output = m.layers.back().act == Act::Sigmoid;
  if (!model_allocate(m)) return 1;

  FILE* f = std::fopen(argv[1], "rb");
  if (f == nullptr) return usage();
  std::fseek(f, 0, SEEK_END);
  std::vector<float> x((size_t)std::ftell(f) / sizeof(float) / m.input_size * m.input_size);
  std::rewind(f);
  const bool read = std::fread(x.data(), sizeof(float), x.size(), f) == x.size();
  std::fclose(f);
  if (!read) return usage();
  const int data_rows = (int)(x.size() / m.input_size);
  if (data_rows < B) return usage();

  openblas_set_num_threads(1);  // one core, as one engine worker
  std::vector<float> params(m.param_count), grad(m.param_count);
  srand(1);
  for (float& p : params) p = 0.1f * ((float)rand() / RAND_MAX - 0.5f);
  const std::vector<uint8_t> labels(data_rows);

  // The full step, over consecutive batches of shuffled rows, for `seconds`: the fastest
  // step, as bench/engine.ts times the native engine's (the first is untimed).
  std::vector<int32_t> order(data_rows);
  for (int i = 0; i < data_rows; i++) order[i] = i;
  for (int i = data_rows - 1; i > 0; i--) std::swap(order[i], order[rand() % (i + 1)]);
  const int batches = data_rows / B;
  double fastest = 1e30;
  const double started = now();
  for (int step = 0; step < 2 || now() - started < seconds; step++) {
    const double t = now();
    model_gradients(m, params.data(), x.data(), labels.data(), order.data() + (size_t)(step % batches) * B, B,
                    grad.data(), false);
    const double took = now() - t;
    if (step > 0 && took < fastest) fastest = took;
  }
  const double step_rate = B / fastest;

  // The step's GEMMs alone, as src/bench/ceiling.ts times corefit's: the fastest pass, of
  // at least 5 after one warm-up, for `seconds`.
  int widest = m.input_size;
  for (const Layer& l : m.layers) widest = l.units > widest ? l.units : widest;
  std::vector<float> a((size_t)B * widest, 0.5f), w((size_t)widest * widest, 0.01f);
  std::vector<float> c((size_t)(B > widest ? B : widest) * widest), bias(widest);
  double best = 1e30;
  const double gemms_started = now();
  for (int r = 0; r < 6 || now() - gemms_started < seconds; r++) {
    const double t = now();
    for (size_t i = 0; i < m.layers.size(); i++) {
      const Layer& l = m.layers[i];
      forward(c.data(), a.data(), w.data(), bias.data(), Act::Linear, B, l.inputs, l.units, nullptr);
      weight_grad(c.data(), bias.data(), a.data(), a.data(), B, l.inputs, l.units, false, nullptr);
      if (i > 0) input_grad(c.data(), a.data(), w.data(), nullptr, Act::Linear, B, l.inputs, l.units, nullptr);
    }
    const double took = now() - t;
    if (r > 0 && took < best) best = took;
  }
  std::printf("{\"config\":\"%s\",\"core\":\"%s\",\"batch\":%d,\"stepSamplesPerSec\":%.1f,\"gemmSamplesPerSec\":%.1f}\n",
              openblas_get_config(), openblas_get_corename(), B, step_rate, B / best);
  return 0;
}
