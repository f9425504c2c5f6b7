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

// For i in [begin, end): slots[i] = (slots[i] + slots[size + i] + ... ) / divisor, summed in
// slot order. Returns the sum of the squared means.
double reduce_slots(float* slots, int slot_count, size_t size, size_t begin, size_t end, float divisor);

struct AdamParams {
  double lr, beta1, beta2, epsilon, grad_scale;
  // 1 - beta^t of step t as tfjs computes them (src/optim/adam.ts: adamBiasCorrections).
  double correction1, correction2;
};

// One Adam step (tfjs AdamOptimizer) on p, m, v, g over [begin, end).
void adam(float* p, float* m, float* v, const float* g, size_t begin, size_t end, const AdamParams& a);
