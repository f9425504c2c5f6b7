#include "model.h"

#include <cstdlib>
#include <cstring>

namespace {

// Workspace pieces start on 64-byte boundaries.
constexpr size_t ALIGN_FLOATS = 16;

size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

float* delta_of(Model& m, size_t layer) { return m.delta[layer % 2]; }

}  // namespace

Model::~Model() { std::free(arena); }

bool model_allocate(Model& m) {
  int widest = 0;
  size_t params = 0, work = 0, floats = round_up((size_t)m.max_rows * m.input_size) + round_up(m.max_rows);
  for (Layer& l : m.layers) {
    l.kernel_offset = params;
    l.bias_offset = params + (size_t)l.inputs * l.units;
    params = l.bias_offset + l.units;
    widest = l.units > widest ? l.units : widest;
    floats += round_up((size_t)m.max_rows * l.units);
    const size_t w = gemm_work_floats(l.inputs, l.units);
    work = w > work ? w : work;
  }
  floats += 2 * round_up((size_t)m.max_rows * widest) + round_up(work);
  m.param_count = params;
  m.arena_bytes = floats * sizeof(float);
  m.arena = static_cast<float*>(std::aligned_alloc(ALIGN_FLOATS * sizeof(float), m.arena_bytes));
  if (m.arena == nullptr) return false;

  float* next = m.arena;
  auto take = [&](size_t n) {
    float* piece = next;
    next += round_up(n);
    return piece;
  };
  m.x = take((size_t)m.max_rows * m.input_size);
  m.classes = reinterpret_cast<int32_t*>(take(m.max_rows));
  m.delta[0] = take((size_t)m.max_rows * widest);
  m.delta[1] = take((size_t)m.max_rows * widest);
  m.work = take(work);
  for (Layer& l : m.layers) l.out = take((size_t)m.max_rows * l.units);
  return true;
}

void model_gather(Model& m, const float* x, const uint8_t* labels, const int32_t* rows, int B) {
  gather_rows(m.x, x, rows, B, m.input_size);
  if (m.target_is_label) {
    for (int r = 0; r < B; r++) m.classes[r] = labels[rows[r]];
  }
}

void model_forward(Model& m, const float* params, int B, int last, bool logits) {
  const float* in = m.x;
  for (int i = 0; i <= last; i++) {
    const Layer& l = m.layers[i];
    const bool keep_logits = logits && m.fused_output && i + 1 == (int)m.layers.size();
    const Act act = keep_logits ? Act::Linear : l.act;
    // out[B, N] = act(in[B, K] @ w[K, N] + b[N]), the activation in the GEMM's epilogue
    m.gemm->forward(l.out, in, params + l.kernel_offset, params + l.bias_offset, act, B, l.inputs, l.units, m.work);
    if (act == Act::Softmax) softmax_rows(l.out, B, l.units);  // needs whole rows
    in = l.out;
  }
}

// The loss of the output layer's activations p; d = dL/dp.
double loss_of_outputs(const Model& m, float* d, const float* p, int B, int N) {
  const float* y = m.x;  // a non-class target is the input row (autoencoder)
  switch (m.loss) {
    case Loss::BinaryCrossentropy:
      return bce_clipped(d, p, y, B, N);
    case Loss::Mse:
      return mse(d, p, y, B, N);
    case Loss::Mae:
      return mae(d, p, y, B, N);
    case Loss::CategoricalCrossentropy:
      return cce_probabilities(d, p, m.classes, false, B, N);
    case Loss::SparseCategoricalCrossentropy:
      return cce_probabilities(d, p, m.classes, true, B, N);
  }
  return 0.0;  // unreachable: the switch covers every loss
}

double model_loss(Model& m, int B) {
  const Layer& out = m.layers.back();
  float* d = delta_of(m, m.layers.size() - 1);
  const int N = out.units;
  // The fused pairs start from the logits: sigmoid + BCE, softmax + cross-entropy.
  if (m.fused_output) {
    return m.loss == Loss::BinaryCrossentropy ? sigmoid_bce(d, out.out, m.x, B, N)
                                              : softmax_cce(d, out.out, m.classes, B, N);
  }
  const double loss = loss_of_outputs(m, d, out.out, B, N);
  activation_backward(d, out.out, out.act, B, N);
  return loss;
}

void model_backward(Model& m, const float* params, float* grad, int B, bool accumulate) {
  for (size_t i = m.layers.size(); i-- > 0;) {
    const Layer& l = m.layers[i];
    const float* in = i > 0 ? m.layers[i - 1].out : m.x;
    const float* dpre = delta_of(m, i);  // [B, N]: dL/d(pre-activation)
    // dw[K, N] (+)= in^T @ dpre, db[N] (+)= sum of dpre's rows
    m.gemm->weight_grad(grad + l.kernel_offset, grad + l.bias_offset, in, dpre, B, l.inputs, l.units, accumulate,
                        m.work);
    // dL/d(pre-activation) of the layer below: (dpre @ w^T) * act'(its out); the first
    // layer needs no input gradient. Softmax is only ever the last layer, so act is elementwise.
    if (i > 0) {
      const Layer& below = m.layers[i - 1];
      m.gemm->input_grad(delta_of(m, i - 1), dpre, params + l.kernel_offset, below.out, below.act, B, l.inputs,
                         l.units, m.work);
    }
  }
}

double model_gradients(Model& m, const float* params, const float* x, const uint8_t* labels, const int32_t* rows, int B,
                       float* grad, bool accumulate) {
  model_gather(m, x, labels, rows, B);
  model_forward(m, params, B, (int)m.layers.size() - 1, true);
  const double loss = model_loss(m, B);
  model_backward(m, params, grad, B, accumulate);
  return loss;
}
