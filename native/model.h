// A Sequential stack of Dense layers with its loss and every workspace it needs, sized
// once for max_rows rows. Callers validate arguments first; these functions trust them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "kernels.h"

enum class Loss { BinaryCrossentropy, Mse, Mae, CategoricalCrossentropy, SparseCategoricalCrossentropy };

// Losses whose target is the label: one-hot for categorical, the index for sparse.
inline bool is_class_loss(Loss l) {
  return l == Loss::CategoricalCrossentropy || l == Loss::SparseCategoricalCrossentropy;
}

struct Layer {
  int inputs, units;
  Act act;
  size_t kernel_offset, bias_offset;  // into the flat parameter array (Keras weight order)
  float* out;                         // workspace [max_rows, units]: this layer's activations
};

struct Model {
  int input_size = 0;
  int max_rows = 0;
  size_t param_count = 0;
  Loss loss = Loss::Mse;
  bool target_is_label = false;  // else the target is the input row (autoencoder)
  // The loss starts from the output layer's logits (sigmoid+BCE, softmax+cross-entropy).
  bool fused_output = false;
  std::vector<Layer> layers;
  const GemmKernels* gemm = nullptr;  // the instruction set's kernels, chosen at construction

  // Workspaces, one allocation: x [max_rows, input_size] (the gathered rows),
  // classes [max_rows] (their labels), delta[2] [max_rows, widest layer] (gradients
  // flowing back, ping-pong), the GEMMs' work (packing), then each layer's out.
  float* arena = nullptr;
  size_t arena_bytes = 0;
  float* x = nullptr;
  int32_t* classes = nullptr;
  float* delta[2] = {nullptr, nullptr};
  float* work = nullptr;

  Model() = default;
  Model(const Model&) = delete;  // owns the arena
  Model& operator=(const Model&) = delete;
  ~Model();
};

// Lays out the parameters and allocates the workspaces; false when out of memory.
// The caller has filled input_size, max_rows, loss, target_is_label, gemm and layers' inputs, units, act.
bool model_allocate(Model& m);

// Copies rows of x [*, input_size] (and their labels, for a label target) into the workspace.
void model_gather(Model& m, const float* x, const uint8_t* labels, const int32_t* rows, int B);

// Runs layers 0..last on the gathered rows. With logits, a fused output layer keeps its
// pre-activation (for the loss) instead of its activation.
void model_forward(Model& m, const float* params, int B, int last, bool logits);

// The loss over the gathered rows after a forward pass with logits; leaves
// dL/d(output pre-activation) in delta for model_backward. Returns the sum of row losses.
double model_loss(Model& m, int B);

// Backward pass from model_loss's delta: writes (or adds) d(sum of row losses)/d(params) into grad.
void model_backward(Model& m, const float* params, float* grad, int B, bool accumulate);

// One training step's compute on rows of x: gather, forward, loss, backward. Writes (or
// adds) d(sum of row losses)/d(params) into grad; returns the sum of row losses.
double model_gradients(Model& m, const float* params, const float* x, const uint8_t* labels, const int32_t* rows, int B,
                       float* grad, bool accumulate);
