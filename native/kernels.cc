#include "kernels.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

// ---- The update after the gradients: reduce the shards' slots and apply Adam. ----

namespace {

// The tree sum of slots 0 .. count - 1 at element i: the pairwise tree of kernels.h. Slots
// are added as they come; a finished subtree of 2^k slots waits on the stack until its
// right sibling of 2^k is finished, and what is left at the end is added from the right
// (the last, smallest subtrees first). tree_sum8 below does the same 8 elements at a time.
//
// Up to 3 slots the tree is the slot order, (0 + 1) + 2: a running sum, which the compiler
// keeps in a register. The stack costs a store and a load per slot: with it for 2 slots,
// reduce + Adam of a block of the seed model took ~177 instead of ~105 us, the same as the
// running sum of slot order took (node dist/scripts/reduce-adam.js, medians of 5 processes
// of each build, alternated).
inline float tree_sum(const float* slots, int count, size_t size, size_t i) {
  if (count <= 3) {
    float sum = slots[i];
    for (int s = 1; s < count; s++) sum += slots[(size_t)s * size + i];
    return sum;
  }
  float stack[32];
  int depth = 0;
  for (int s = 0; s < count; s++) {
    float sum = slots[(size_t)s * size + i];
    for (int leaves = s; leaves & 1; leaves >>= 1) sum = stack[--depth] + sum;
    stack[depth++] = sum;
  }
  float sum = stack[--depth];
  while (depth > 0) sum = stack[--depth] + sum;
  return sum;
}

// g[i] = (the tree sum of the slots)[i] * scale: the same bits whoever sums.
inline float mean_gradient(const float* slots, int slot_count, size_t size, size_t i, float scale) {
  return tree_sum(slots, slot_count, size, i) * scale;
}

// A moment below FLT_MIN is stored as 0. m of a weight whose gradient stays 0 (a pixel
// that is always 0, a dead unit) decays by b1 per step into subnormal floats after ~800
// steps, and arithmetic on subnormals is several times slower on AMD Zen; the update it
// drops is below 1e-30. An explicit compare rather than the CPU's flush-to-zero mode, so
// that every kernel, scalar, vector and TypeScript, gives the same bits on every CPU.
inline float flush_subnormal(float x) { return fabsf(x) < FLT_MIN ? 0.0f : x; }

// Adam in the one-division form, for one parameter (the vector loop below does exactly
// these float operations, in this order):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2  (each flushed);  p -= step_size * (m / (sqrt(v) + eps_hat))
inline void adam_element(float& p, float& m, float& v, float g, const AdamScalars& a) {
  const float mi = flush_subnormal(a.beta1 * m + a.one_minus_beta1 * g);
  const float vi = flush_subnormal(a.beta2 * v + a.one_minus_beta2 * (g * g));
  m = mi;
  v = vi;
  p = p - a.step_size * (mi / (sqrtf(vi) + a.eps_hat));
}

// 0 while every g is finite, NaN once one is not (inf * 0 and NaN * 0 are NaN): a check
// that costs one multiply-add per parameter instead of a branch.
inline float nonfinite(float g) { return g * 0.0f; }

float reduce_adam_scalar(float* p, float* m, float* v, const float* slots, int slot_count, size_t size, size_t begin,
                         size_t end, const AdamScalars& a) {
  float bad = 0.0f;
  for (size_t i = begin; i < end; i++) {
    const float g = mean_gradient(slots, slot_count, size, i, a.grad_scale);
    bad += nonfinite(g);
    adam_element(p[i], m[i], v[i], g, a);
  }
  return bad;
}

#if defined(__x86_64__) && defined(__GNUC__)
// flush_subnormal, 8 at a time: keep x where |x| >= FLT_MIN or x is NaN (unordered compare).
__attribute__((target("avx2"))) inline __m256 flush_subnormal(__m256 x) {
  const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_and_ps(x, _mm256_cmp_ps(magnitude, _mm256_set1_ps(FLT_MIN), _CMP_NLT_UQ));
}

// tree_sum for elements i .. i + 7.
__attribute__((target("avx2"), always_inline)) inline __m256 tree_sum8(const float* slots, int count, size_t size, size_t i) {
  if (count <= 3) {
    __m256 sum = _mm256_loadu_ps(slots + i);
    for (int s = 1; s < count; s++) sum = _mm256_add_ps(sum, _mm256_loadu_ps(slots + (size_t)s * size + i));
    return sum;
  }
  __m256 stack[32];
  int depth = 0;
  for (int s = 0; s < count; s++) {
    __m256 sum = _mm256_loadu_ps(slots + (size_t)s * size + i);
    for (int leaves = s; leaves & 1; leaves >>= 1) sum = _mm256_add_ps(stack[--depth], sum);
    stack[depth++] = sum;
  }
  __m256 sum = stack[--depth];
  while (depth > 0) sum = _mm256_add_ps(stack[--depth], sum);
  return sum;
}

// The same float operations as reduce_adam_scalar, 8 parameters at a time, written out
// because GCC's vectorized loop stored p across cache lines (#4: a chunk starting mid-line
// took ~160 instead of ~92 us in a harness of the step's memory pattern).
//
// Non-temporal stores of p were measured and dropped: the other worker reads all of p in
// its next forward pass, and a plain store leaves the line where that read finds it. With
// 2 workers at batch 100, alternating the store kinds in one `corefit bench` process
// (6 rounds each, medians, a busy host): reduce+Adam 137 us per worker and step with plain
// stores, 296 with non-temporal ones; a one-worker trainer's full update 455 against 1134.
__attribute__((target("avx2"))) float reduce_adam_avx2(float* p, float* m, float* v, const float* slots, int slot_count,
                                                       size_t size, size_t begin, size_t end, const AdamScalars& a) {
  // Scalar up to the first 32-byte boundary of p, so that no vector store splits a line.
  size_t i = begin;
  float bad = 0.0f;
  for (; i < end && ((uintptr_t)(p + i) & 31) != 0; i++) {
    const float g = mean_gradient(slots, slot_count, size, i, a.grad_scale);
    bad += nonfinite(g);
    adam_element(p[i], m[i], v[i], g, a);
  }
  const __m256 b1 = _mm256_set1_ps(a.beta1), omb1 = _mm256_set1_ps(a.one_minus_beta1), b2 = _mm256_set1_ps(a.beta2),
               omb2 = _mm256_set1_ps(a.one_minus_beta2), step = _mm256_set1_ps(a.step_size),
               eps = _mm256_set1_ps(a.eps_hat), scale = _mm256_set1_ps(a.grad_scale), zero = _mm256_setzero_ps();
  __m256 vbad = zero;
  for (; i + 8 <= end; i += 8) {
    const __m256 g = _mm256_mul_ps(tree_sum8(slots, slot_count, size, i), scale);
    vbad = _mm256_add_ps(vbad, _mm256_mul_ps(g, zero));
    const __m256 mi = flush_subnormal(_mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(omb1, g)));
    const __m256 vi =
        flush_subnormal(_mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(omb2, _mm256_mul_ps(g, g))));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    const __m256 ratio = _mm256_div_ps(mi, _mm256_add_ps(_mm256_sqrt_ps(vi), eps));
    const __m256 next = _mm256_sub_ps(_mm256_load_ps(p + i), _mm256_mul_ps(step, ratio));
    _mm256_store_ps(p + i, next);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, vbad);
  for (float l : lanes) bad += l;
  for (; i < end; i++) {
    const float g = mean_gradient(slots, slot_count, size, i, a.grad_scale);
    bad += nonfinite(g);
    adam_element(p[i], m[i], v[i], g, a);
  }
  return bad;
}

bool has_avx2() { return __builtin_cpu_supports("avx2"); }
#endif

}  // namespace

bool reduce_adam(float* p, float* m, float* v, const float* slots, int slot_count, size_t size, size_t begin, size_t end,
                 const AdamScalars& a) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (has_avx2()) return reduce_adam_avx2(p, m, v, slots, slot_count, size, begin, end, a) == 0.0f;
#endif
  return reduce_adam_scalar(p, m, v, slots, slot_count, size, begin, end, a) == 0.0f;
}

COREFIT_KERNEL double mean_gradient_sum_of_squares(const float* slots, int slot_count, size_t size, size_t begin,
                                                   size_t end, float scale) {
  double sumsq = 0.0;
  for (size_t i = begin; i < end; i++) {
    const float g = mean_gradient(slots, slot_count, size, i, scale);
    sumsq += (double)g * g;
  }
  return sumsq;
}
