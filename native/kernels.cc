#include "kernels.h"

#include <cstring>

#include "activation.h"
#include "vector_math.h"

namespace {

inline float clip(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// dst[N] = softmax(src[N]); dst may be src.
inline void softmax_row(float* dst, const float* src, int N) {
  float max = src[0];
#pragma omp simd reduction(max : max)
  for (int j = 0; j < N; j++) max = src[j] > max ? src[j] : max;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < N; j++) {
    dst[j] = expf(src[j] - max);
    sum += dst[j];
  }
  for (int j = 0; j < N; j++) dst[j] /= sum;
}

}  // namespace

void gather_rows(float* dst, const float* x, const int32_t* rows, int B, int F) {
  for (int r = 0; r < B; r++) std::memcpy(dst + (size_t)r * F, x + (size_t)rows[r] * F, sizeof(float) * F);
}

COREFIT_KERNEL void softmax_rows(float* o, int B, int N) {
  for (int r = 0; r < B; r++) softmax_row(o + (size_t)r * N, o + (size_t)r * N, N);
}

COREFIT_KERNEL void activation_backward(float* __restrict d, const float* __restrict out, Act act, int B, int N) {
  if (act != Act::Softmax) {
    activation_derivative(d, out, act, (size_t)B * N);
    return;
  }
  for (int r = 0; r < B; r++) {  // d_j = p_j (d_j - sum_k d_k p_k), row by row
    float* dr = d + (size_t)r * N;
    const float* p = out + (size_t)r * N;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int j = 0; j < N; j++) dot += dr[j] * p[j];
    for (int j = 0; j < N; j++) dr[j] = p[j] * (dr[j] - dot);
  }
}

// Per unit: max(z, 0) - z y + log(1 + e^-|z|), which is -y log p - (1 - y) log(1 - p) for
// p = sigmoid(z) without overflow or log(0); dL/dz = (p - y) / N. Keras takes this path
// for a sigmoid output; tfjs-layers clips p instead (bce_clipped), which agrees unless a
// unit saturates (|z| > 16), where the clip would stop its gradient.
COREFIT_KERNEL double sigmoid_bce(float* __restrict d, const float* __restrict z, const float* __restrict y, int B,
                                  int N) {
  const float inv_n = 1.0f / (float)N;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    const size_t o = (size_t)r * N;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < N; j++) {
      const float zj = z[o + j], yj = y[o + j];
      const float e = expf(-fabsf(zj));
      const float p = zj >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      d[o + j] = (p - yj) * inv_n;
      sum += relu(zj) - zj * yj + log1pf(e);
    }
    total += sum;
  }
  return total / N;
}

// tfjs-layers' binaryCrossentropy: pc = clip(p, eps, 1 - eps), loss of the logits
// log(pc / (1 - pc)), which is -y log pc - (1 - y) log(1 - pc). The clip passes no
// gradient outside [eps, 1 - eps]; inside, dL/dp = (pc - y) / (pc (1 - pc)) / N.
COREFIT_KERNEL double bce_clipped(float* __restrict d, const float* __restrict p, const float* __restrict y, int B,
                                  int N) {
  const float lo = KERAS_EPSILON, hi = 1.0f - KERAS_EPSILON, inv_n = 1.0f / (float)N;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    const size_t o = (size_t)r * N;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < N; j++) {
      const float pj = p[o + j], yj = y[o + j];
      const float pc = clip(pj, lo, hi);
      d[o + j] = pj < lo || pj > hi ? 0.0f : (pc - yj) / (pc * (1.0f - pc)) * inv_n;
      sum -= yj * logf(pc) + (1.0f - yj) * logf(1.0f - pc);
    }
    total += sum;
  }
  return total / N;
}

COREFIT_KERNEL double mse(float* __restrict d, const float* __restrict p, const float* __restrict y, int B, int N) {
  const float scale = 2.0f / (float)N;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    const size_t o = (size_t)r * N;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < N; j++) {
      const float diff = p[o + j] - y[o + j];
      d[o + j] = diff * scale;
      sum += diff * diff;
    }
    total += sum;
  }
  return total / N;
}

// d|x|/dx at x = 0 is -1 in tfjs (its Abs gradient is step(x, -1)); we match it.
COREFIT_KERNEL double mae(float* __restrict d, const float* __restrict p, const float* __restrict y, int B, int N) {
  const float inv_n = 1.0f / (float)N;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    const size_t o = (size_t)r * N;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < N; j++) {
      const float diff = p[o + j] - y[o + j];
      d[o + j] = diff > 0.0f ? inv_n : -inv_n;
      sum += fabsf(diff);
    }
    total += sum;
  }
  return total / N;
}

// Per row: p = softmax(z), loss = -log(clip(p_c, eps, 1 - eps)) (tfjs-layers divides p
// by its sum before the clip; a softmax sums to 1 already). dL/dz = p - onehot(c) while
// p_c is inside the clip range, else 0: the clip passes no gradient. For sparse labels
// tfjs-layers first clips every p_j too; skipping that changes the loss by at most
// N * eps, and only where some p_j < eps.
COREFIT_KERNEL double softmax_cce(float* __restrict d, const float* __restrict z, const int32_t* __restrict c, int B,
                                  int N) {
  const float lo = KERAS_EPSILON, hi = 1.0f - KERAS_EPSILON;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    float* dr = d + (size_t)r * N;
    softmax_row(dr, z + (size_t)r * N, N);
    const float pc = dr[c[r]];
    total -= logf(clip(pc, lo, hi));
    if (pc < lo || pc > hi) {
      std::memset(dr, 0, sizeof(float) * N);
    } else {
      dr[c[r]] -= 1.0f;
    }
  }
  return total;
}

// tfjs-layers: r = p (sparse: r = clip(p, eps, 1 - eps)), S = sum of r, loss = -log(clip(r_c / S)).
// dL/dr_i = 1/S - [i = c]/r_c while r_c / S is inside the clip range, else 0; the sparse
// pre-clip passes no gradient to a unit outside [eps, 1 - eps].
COREFIT_KERNEL double cce_probabilities(float* __restrict d, const float* __restrict p, const int32_t* __restrict c,
                                        bool preclip, int B, int N) {
  const float lo = KERAS_EPSILON, hi = 1.0f - KERAS_EPSILON;
  double total = 0.0;
  for (int r = 0; r < B; r++) {
    const float* pr = p + (size_t)r * N;
    float* dr = d + (size_t)r * N;
    float sum = 0.0f;
    for (int j = 0; j < N; j++) sum += preclip ? clip(pr[j], lo, hi) : pr[j];
    const float pc = preclip ? clip(pr[c[r]], lo, hi) : pr[c[r]];
    const float q = pc / sum;
    total -= logf(clip(q, lo, hi));
    const float inv_sum = q < lo || q > hi ? 0.0f : 1.0f / sum;
    for (int j = 0; j < N; j++) dr[j] = preclip && (pr[j] < lo || pr[j] > hi) ? 0.0f : inv_sum;
    if (dr[c[r]] != 0.0f) dr[c[r]] -= 1.0f / pc;
  }
  return total;
}

COREFIT_KERNEL double reduce_slots(float* slots, int slot_count, size_t size, size_t begin, size_t end,
                                   float divisor) {
  float* __restrict sum = slots;
  // sum += slots 1 .. S-2, one slot at a time; the last slot is added in the pass that
  // divides. One pass less over the chunk: reduce + Adam of a 2-slot chunk of 110,934
  // floats took ~72 instead of ~83 us (the two forms timed side by side).
  for (int s = 1; s + 1 < slot_count; s++) {
    const float* __restrict other = slots + (size_t)s * size;
    for (size_t i = begin; i < end; i++) sum[i] += other[i];
  }
  double sumsq = 0.0;
  if (slot_count == 1) {
#pragma omp simd reduction(+ : sumsq)
    for (size_t i = begin; i < end; i++) {
      const float mean = sum[i] / divisor;
      sum[i] = mean;
      sumsq += (double)mean * mean;
    }
  } else {
    const float* __restrict last = slots + (size_t)(slot_count - 1) * size;
#pragma omp simd reduction(+ : sumsq)
    for (size_t i = begin; i < end; i++) {
      const float mean = (sum[i] + last[i]) / divisor;
      sum[i] = mean;
      sumsq += (double)mean * mean;
    }
  }
  return sumsq;
}

namespace {

// Adam writes every parameter, and in data-parallel training the other workers have read
// them all in their forward pass: each line of p sits in their caches too, and a store must
// first take it from them. Asking for the next tile of p for writing while this tile
// computes overlaps those round trips. With 2 workers on 2 cores this took Adam from ~131
// to ~113 us per step; a read prefetch did not help, 256- and 2048-float tiles helped less.
constexpr size_t ADAM_TILE = 512;
constexpr size_t FLOATS_PER_CACHE_LINE = 16;

// Whether prefetch_for_write can use x86's PREFETCHW.
bool has_prefetchw() {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  return __builtin_cpu_supports("prfchw");
#else
  return false;
#endif
}

// Fetches the cache line of p for writing. GCC emits PREFETCHW for __builtin_prefetch(p, 1)
// only where the target has PRFCHW, which the x86-64-v3 and v4 clones (vector_math.h) leave
// out; without it that is a read prefetch.
inline void prefetch_for_write(const float* p, bool prefetchw) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (prefetchw) {
    asm volatile("prefetchw %0" : : "m"(*p));
    return;
  }
#endif
  __builtin_prefetch(p, 1);
}

}  // namespace

// tfjs AdamOptimizer, with its float32 scalars and order of operations (and, like
// everything here, no fused multiply-adds: binding.gyp), so that the bits equal tfjs's:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p += (m / c1) / (sqrt(v / c2) + eps) * -lr
COREFIT_KERNEL void adam(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict g,
                         size_t begin, size_t end, const AdamParams& a) {
  const float b1 = (float)a.beta1, b2 = (float)a.beta2, one_minus_b1 = (float)(1.0 - a.beta1),
              one_minus_b2 = (float)(1.0 - a.beta2), c1 = (float)a.correction1, c2 = (float)a.correction2,
              eps = (float)a.epsilon, neg_lr = (float)-a.lr, scale = (float)a.grad_scale;
  // From t = 165 on (beta1 0.9), c1 = 1 - beta1^t is exactly 1 in float32 and m / c1 is m:
  // skipping that division changes no bit and saves ~10 us of ~60 per 110,934 floats, more
  // where m is subnormal (dead units), which makes a division ~3x slower (bench/reduce-adam.ts).
  const bool divide_m = c1 != 1.0f;
  const bool prefetchw = has_prefetchw();
  for (size_t lo = begin; lo < end; lo += ADAM_TILE) {
    const size_t hi = lo + ADAM_TILE < end ? lo + ADAM_TILE : end;
    const size_t next_hi = hi + ADAM_TILE < end ? hi + ADAM_TILE : end;
    for (size_t i = hi; i < next_hi; i += FLOATS_PER_CACHE_LINE) prefetch_for_write(p + i, prefetchw);
    for (size_t i = lo; i < hi; i++) {
      const float gi = scale * g[i];
      const float mi = m[i] * b1 + gi * one_minus_b1;
      const float vi = v[i] * b2 + (gi * gi) * one_minus_b2;
      m[i] = mi;
      v[i] = vi;
      p[i] = ((divide_m ? mi / c1 : mi) / (sqrtf(vi / c2) + eps)) * neg_lr + p[i];
    }
  }
}
