// The elementwise activations and their derivatives, one definition for every file that
// applies them. `static inline` on purpose: each file compiles its own copy for its own
// instruction set (gemm_<isa>.cc), and no copy can stand in for another at link time.
#pragma once

#include <cmath>
#include <cstddef>

#include "gemm.h"
#include "vector_math.h"

// Written so that NaN propagates (x < 0 is false for NaN), as in tfjs: a diverged
// forward pass must show up in the loss.
static inline float relu(float x) { return x < 0.0f ? 0.0f : x; }
static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float elu(float x) { return x > 0.0f ? x : expm1f(x); }  // alpha 1

// o[n] = act(o[n] + b[n]); Softmax adds the bias only (it needs whole rows).
static inline void bias_activation(float* __restrict o, const float* __restrict b, Act act, int n) {
  switch (act) {
    case Act::Linear:
    case Act::Softmax:
      for (int j = 0; j < n; j++) o[j] += b[j];
      break;
    case Act::Relu:
      for (int j = 0; j < n; j++) o[j] = relu(o[j] + b[j]);
      break;
    case Act::Sigmoid:
      for (int j = 0; j < n; j++) o[j] = sigmoid(o[j] + b[j]);
      break;
    case Act::Tanh:
      for (int j = 0; j < n; j++) o[j] = tanhf(o[j] + b[j]);
      break;
    case Act::Elu:
      for (int j = 0; j < n; j++) o[j] = elu(o[j] + b[j]);
      break;
  }
}

// d[n] *= act'(pre), from out[n] = act(pre); elementwise activations only (not Softmax).
static inline void activation_derivative(float* __restrict d, const float* __restrict out, Act act, size_t n) {
  switch (act) {
    case Act::Linear:
    case Act::Softmax:
      break;
    case Act::Relu:
      for (size_t i = 0; i < n; i++) d[i] = out[i] > 0.0f ? d[i] : 0.0f;
      break;
    case Act::Sigmoid:
      for (size_t i = 0; i < n; i++) d[i] *= out[i] * (1.0f - out[i]);
      break;
    case Act::Tanh:
      for (size_t i = 0; i < n; i++) d[i] *= 1.0f - out[i] * out[i];
      break;
    case Act::Elu:  // elu'(x) = exp(x) = out + 1 for x <= 0
      for (size_t i = 0; i < n; i++) d[i] *= out[i] > 0.0f ? 1.0f : out[i] + 1.0f;
      break;
  }
}
