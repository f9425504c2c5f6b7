// One plain function per layer kind and direction, in the style of llm.c's train_gpt2.c.
// Shapes in comments: B rows of the batch, K inputs of a layer, N its units.
// Matrices are row-major; a kernel w[K, N] is Keras's Dense kernel layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gemm.h"

// Keras's epsilon(): the clip bound of the probability losses.
constexpr float KERAS_EPSILON = 1e-7f;

// dst[B, F] = x[rows[b], :]
void gather_rows(float* dst, const float* x, const int32_t* rows, int B, int F);

// rows of o[B, N] = softmax(rows of o), in place
void softmax_rows(float* o, int B, int N);

// d[B, N]: dL/d(out) on entry, dL/d(pre-activation) on return. out[B, N] = act(pre).
void activation_backward(float* d, const float* out, Act act, int B, int N);

// Losses return the sum over rows of the per-row loss (Keras: mean over the N units,
// or the sum over classes for cross-entropy) and write its gradient into d[B, N].

// Fused sigmoid + binary cross-entropy from logits z[B, N], target y[B, N]; d = dL/dz.
double sigmoid_bce(float* d, const float* z, const float* y, int B, int N);

// Binary cross-entropy of probabilities p[B, N] the Keras way (clip, then logits); d = dL/dp.
double bce_clipped(float* d, const float* p, const float* y, int B, int N);

// Mean squared and mean absolute error of p[B, N] against y[B, N]; d = dL/dp.
double mse(float* d, const float* p, const float* y, int B, int N);
double mae(float* d, const float* p, const float* y, int B, int N);

// Fused softmax + categorical cross-entropy from logits z[B, N], class c[B]; d = dL/dz.
double softmax_cce(float* d, const float* z, const int32_t* c, int B, int N);

// Categorical cross-entropy of probabilities p[B, N] of another output activation, the
// tfjs-layers way (preclip: sparse_categorical_crossentropy's extra clip); d = dL/dp.
double cce_probabilities(float* d, const float* p, const int32_t* c, bool preclip, int B, int N);

// Adam's scalars of one step, each a float32 (src/optim/adam.ts: adamScalars computes them).
struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float step_size;   // lr sqrt(1 - beta2^t) / (1 - beta1^t)
  float eps_hat;     // epsilon sqrt(1 - beta2^t)
  float grad_scale;  // the clipping scale (1 when off) / rows of the global batch
};

// The update of a data-parallel step over [begin, end) of the parameters, in one pass (one
// read of each slot, m, v and p, one write of m, v and p):
// g = (slots[i] + slots[size + i] + ...) * grad_scale, then Adam on p, m, v (adam_element in
// kernels.cc). The slots are summed in float in a fixed pairwise tree: the tree sum of slots
// [a, a + n) is slot a when n = 1, else the tree sum of its first L slots plus that of the
// other n - L, L the largest power of two below n (src/optim/reduce.ts, the same order). The slots are only read. Returns false when some
// g was not finite (p, m and v are then not finite either).
bool reduce_adam(float* p, float* m, float* v, const float* slots, int slot_count, size_t size, size_t begin, size_t end,
                 const AdamScalars& a);

// Sum over [begin, end) of g^2, g as reduce_adam computes it with grad_scale `scale`, in
// double: the global norm that gradient clipping needs before the update.
double mean_gradient_sum_of_squares(const float* slots, int slot_count, size_t size, size_t begin, size_t end,
                                    float scale);
