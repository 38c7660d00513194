#include "apps/calibrate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <numeric>
#include <thread>

#include <Eigen/Core>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "apps/atomic_file.h"
#include "apps/cli.h"
#include "apps/media/plugin_loader.h"
#include "apps/threshold.h"

namespace fg::apps {
namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Index = Eigen::Index;

constexpr float kNone = -std::numeric_limits<float>::infinity();
// 256 x 256 score tiles keep both operand blocks (at 512-D) and the tile in L2.
constexpr Index kBlock = 256;

// The samples as unit rows, grouped by identity: the rows of row r's identity are
// [first[r], end[r]), so each row's genuine and impostor columns are contiguous ranges.
struct Gallery {
  Matrix x;
  std::vector<Index> first, end;
  size_t identities = 0;
};

Gallery make_gallery(const std::vector<CalibrationSample>& samples) {
  if (samples.empty()) throw CalibrationError("calibration got no embeddings: enroll images of at least 2 identities");
  std::vector<size_t> order(samples.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return samples[a].identity_id < samples[b].identity_id; });
  const size_t dim = samples[order[0]].embedding.size();
  if (dim == 0) throw CalibrationError("embedding of identity '" + samples[order[0]].identity_id + "' is empty");

  Gallery g;
  g.x.resize(Index(samples.size()), Index(dim));
  g.first.resize(samples.size());
  g.end.resize(samples.size());
  size_t widest = 0;
  for (size_t r = 0, start = 0; r < order.size(); ++r) {
    const CalibrationSample& s = samples[order[r]];
    if (s.embedding.size() != dim)
      throw CalibrationError("embedding of identity '" + s.identity_id + "' has dim " +
                             std::to_string(s.embedding.size()) + ", expected " + std::to_string(dim));
    auto row = Eigen::Map<const Eigen::VectorXf>(s.embedding.data(), Index(dim));
    const float norm = row.norm();
    if (!std::isfinite(norm) || norm == 0.f)
      throw CalibrationError("embedding of identity '" + s.identity_id + "' is " +
                             (norm == 0.f ? "zero" : "not finite") + ": cannot take its cosine");
    g.x.row(Index(r)) = row.transpose() / norm;
    const bool last_of_identity = r + 1 == order.size() || samples[order[r + 1]].identity_id != s.identity_id;
    if (!last_of_identity) continue;
    for (size_t k = start; k <= r; ++k) {
      g.first[k] = Index(start);
      g.end[k] = Index(r + 1);
    }
    widest = std::max(widest, r + 1 - start);
    start = r + 1;
    ++g.identities;
  }
  const std::string got = " (got " + cli::count(g.identities, "identity", "identities") + ", " +
                          cli::count(samples.size(), "image", "images") + ")";
  if (g.identities < 2)
    throw CalibrationError("calibration needs images of at least 2 identities for impostor scores" + got);
  if (widest < 2)
    throw CalibrationError("calibration needs at least one identity with 2 or more images for genuine scores" + got);
  return g;
}

float max_of(const float* v, Index from, Index to) {
  float m = kNone;
  for (Index i = from; i < to; ++i) m = std::max(m, v[i]);
  return m;
}

void max_into(float* best, const float* v, Index from, Index to) {
  for (Index i = from; i < to; ++i) best[i] = std::max(best[i], v[i]);
}

struct Bests {
  std::vector<float> genuine, impostor;
  explicit Bests(size_t n) : genuine(n, kNone), impostor(n, kNone) {}
};

// Scores the tile rows [i0, i0+bi) x columns [j0, j0+bj), j0 >= i0. Scores are symmetric, so an
// off-diagonal tile also updates the bests of its columns' rows.
void score_tile(const Gallery& g, Index i0, Index bi, Index j0, Index bj, Matrix& s, Bests& best) {
  s.noalias() = g.x.middleRows(i0, bi) * g.x.middleRows(j0, bj).transpose();
  const bool diagonal = i0 == j0;
  for (Index a = 0; a < bi; ++a) {
    const float* row = s.row(a).data();
    const Index r = i0 + a;
    const Index same_from = std::clamp(g.first[r] - j0, Index(0), bj);
    const Index same_to = std::clamp(g.end[r] - j0, Index(0), bj);
    float& imp = best.impostor[r];
    imp = std::max({imp, max_of(row, 0, same_from), max_of(row, same_to, bj)});
    float& gen = best.genuine[r];
    if (diagonal) {
      gen = std::max({gen, max_of(row, same_from, a), max_of(row, a + 1, same_to)});
      continue;
    }
    gen = std::max(gen, max_of(row, same_from, same_to));
    max_into(best.impostor.data() + j0, row, 0, same_from);
    max_into(best.genuine.data() + j0, row, same_from, same_to);
    max_into(best.impostor.data() + j0, row, same_to, bj);
  }
}

// Every tile of the upper triangle once, handed out to the threads from a shared counter.
Bests score_all(const Gallery& g, int threads) {
  const Index n = g.x.rows();
  const Index blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::pair<Index, Index>> tiles;
  for (Index i = 0; i < blocks; ++i)
    for (Index j = i; j < blocks; ++j) tiles.emplace_back(i * kBlock, j * kBlock);

  const size_t workers = std::clamp<size_t>(size_t(std::max(threads, 1)), 1, tiles.size());
  std::vector<Bests> bests(workers, Bests(size_t(n)));
  std::vector<std::exception_ptr> errors(workers);
  std::atomic<size_t> next{0};
  auto work = [&](size_t w) {
    try {
      Matrix s;
      for (size_t t = next++; t < tiles.size(); t = next++) {
        const auto [i0, j0] = tiles[t];
        score_tile(g, i0, std::min(kBlock, n - i0), j0, std::min(kBlock, n - j0), s, bests[w]);
      }
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (size_t w = 1; w < workers; ++w) {
    max_into(bests[0].genuine.data(), bests[w].genuine.data(), 0, n);
    max_into(bests[0].impostor.data(), bests[w].impostor.data(), 0, n);
  }
  return std::move(bests[0]);
}

}  // namespace

CalibrationScores leave_one_out_scores(const std::vector<CalibrationSample>& samples, int threads) {
  const Gallery g = make_gallery(samples);
  const Bests best = score_all(g, threads);
  CalibrationScores out;
  out.identities = g.identities;
  out.images = samples.size();
  // Rounding can push a cosine of unit vectors a hair outside [-1, 1].
  auto cosine = [](float s) { return std::clamp(s, -1.f, 1.f); };
  for (size_t r = 0; r < samples.size(); ++r) {
    if (g.end[r] - g.first[r] >= 2) out.genuine.push_back(cosine(best.genuine[r]));
    out.impostor.push_back(cosine(best.impostor[r]));
  }
  std::sort(out.genuine.begin(), out.genuine.end());
  std::sort(out.impostor.begin(), out.impostor.end());
  return out;
}

Calibration choose_threshold(CalibrationScores scores, double far) {
  if (!(far > 0 && far < 1)) throw CalibrationError("false-accept rate must be in (0, 1), got " + std::to_string(far));
  if (scores.genuine.empty() || scores.impostor.empty())
    throw CalibrationError("calibration needs genuine and impostor scores (got " +
                           std::to_string(scores.genuine.size()) + " genuine, " +
                           std::to_string(scores.impostor.size()) + " impostor)");
  std::sort(scores.genuine.begin(), scores.genuine.end());
  std::sort(scores.impostor.begin(), scores.impostor.end());
  const auto& imp = scores.impostor;
  const size_t n = imp.size();
  // far * n can land a hair below the integer it stands for (1e-3 * 3000 = 2.9999999999999996).
  const size_t k = std::min(n - 1, size_t(std::floor(far * double(n) + 1e-9)));
  const float pivot = imp[n - 1 - k];  // s(k+1) in descending order
  const float threshold = std::nextafter(pivot, std::numeric_limits<float>::infinity());
  if (threshold > 1.f)
    throw CalibrationError(cli::count(k + 1, "impostor score is", "impostor scores are") +
                           " 1.0 (the same face under different identities?): no threshold in [-1, 1] reaches a "
                           "false-accept rate of " + std::to_string(far));

  Calibration c;
  c.far_target = far;
  c.threshold = threshold;
  c.false_accepts = size_t(imp.end() - std::lower_bound(imp.begin(), imp.end(), threshold));
  c.false_rejects = size_t(std::lower_bound(scores.genuine.begin(), scores.genuine.end(), threshold) -
                           scores.genuine.begin());
  c.scores = std::move(scores);
  return c;
}

namespace {

const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kGenuine(180, 110, 20);   // blue (BGR)
const cv::Scalar kImpostor(20, 120, 235);  // orange
const cv::Scalar kThreshold(40, 30, 200);  // red
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string format(const char* fmt, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.45, cv::Scalar colour = kInk,
          double align = 0.0) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, kFont, scale, 1, &baseline);
  at.x -= int(align * size.width);
  cv::putText(img, s, at, kFont, scale, colour, 1, cv::LINE_AA);
}

// A plot area with data ranges; x may be logarithmic.
struct Axes {
  cv::Rect area;
  double x0, x1, y0, y1;
  bool log_x = false;

  double fx(double x) const {
    const double f = log_x ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0))
                           : (x - x0) / (x1 - x0);
    return std::clamp(std::isfinite(f) ? f : 0.0, 0.0, 1.0);
  }
  cv::Point at(double x, double y) const {
    const double fy = std::clamp((y - y0) / (y1 - y0), 0.0, 1.0);
    return {area.x + int(std::lround(fx(x) * area.width)), area.y + area.height - int(std::lround(fy * area.height))};
  }
};

void x_tick(cv::Mat& img, const Axes& ax, double x, const std::string& label) {
  const cv::Point p = ax.at(x, ax.y0);
  cv::line(img, {p.x, ax.area.y}, {p.x, p.y}, kGrid, 1);
  cv::line(img, p, {p.x, p.y + 5}, kInk, 1);
  text(img, label, {p.x, p.y + 20}, 0.45, kInk, 0.5);
}

void y_tick(cv::Mat& img, const Axes& ax, double y, const std::string& label) {
  const cv::Point p = ax.at(ax.x0, y);
  cv::line(img, p, {ax.area.x + ax.area.width, p.y}, kGrid, 1);
  cv::line(img, {p.x - 5, p.y}, p, kInk, 1);
  text(img, label, {p.x - 8, p.y + 5}, 0.45, kInk, 1.0);
}

void frame(cv::Mat& img, const Axes& ax, const std::string& title, const std::string& x_label,
           const std::string& y_label) {
  cv::rectangle(img, ax.area, kInk, 1);
  text(img, title, {ax.area.x + ax.area.width / 2, ax.area.y - 32}, 0.55, kInk, 0.5);
  text(img, y_label, {ax.area.x - 50, ax.area.y - 10});
  text(img, x_label, {ax.area.x + ax.area.width / 2, ax.area.y + ax.area.height + 45}, 0.5, kInk, 0.5);
}

// 1, 2 or 5 times a power of ten, giving about `ticks` steps over `range`.
double nice_step(double range, int ticks) {
  const double raw = range / ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

constexpr int kBins = 100;

std::vector<double> histogram(const std::vector<float>& scores) {
  std::vector<double> h(kBins, 0.0);
  for (float s : scores) h[std::clamp(int((s + 1.0) / 2.0 * kBins), 0, kBins - 1)] += 1.0;
  for (double& v : h) v /= double(scores.size());
  return h;
}

void draw_histograms(cv::Mat& img, const Calibration& c, cv::Rect area) {
  const auto gen = histogram(c.scores.genuine);
  const auto imp = histogram(c.scores.impostor);
  const double top = std::max(*std::max_element(gen.begin(), gen.end()), *std::max_element(imp.begin(), imp.end()));
  const Axes ax{area, -1.0, 1.0, 0.0, top * 1.1};
  frame(img, ax, "score distributions (leave-one-out)", "cosine similarity", "fraction of scores");
  for (double x = -1.0; x <= 1.0001; x += 0.25) x_tick(img, ax, x, format("%.2f", x));
  const double step = nice_step(ax.y1, 4);
  for (double y = 0.0; y <= ax.y1; y += step) y_tick(img, ax, y, format(step < 0.01 ? "%.3f" : "%.2f", y));

  cv::Mat fill = img.clone();
  for (const auto& [h, colour] : {std::pair{&imp, kImpostor}, std::pair{&gen, kGenuine}}) {
    // The outline runs over the occupied bins only, so one class's zeros do not hide the other's.
    int lo = 0, hi = kBins - 1;
    while ((*h)[lo] == 0) ++lo;
    while ((*h)[hi] == 0) --hi;
    std::vector<cv::Point> outline = {ax.at(-1.0 + 2.0 * lo / kBins, 0.0)};
    for (int b = lo; b <= hi; ++b) {
      const double x0 = -1.0 + 2.0 * b / kBins, x1 = -1.0 + 2.0 * (b + 1) / kBins;
      if ((*h)[b] > 0) cv::rectangle(fill, ax.at(x0, (*h)[b]), ax.at(x1, 0.0), colour, cv::FILLED);
      outline.push_back(ax.at(x0, (*h)[b]));
      outline.push_back(ax.at(x1, (*h)[b]));
    }
    outline.push_back(ax.at(-1.0 + 2.0 * (hi + 1) / kBins, 0.0));
    cv::polylines(img, outline, false, colour, 2, cv::LINE_AA);
  }
  cv::addWeighted(fill, 0.3, img, 0.7, 0.0, img);
  cv::rectangle(img, ax.area, kInk, 1);

  const cv::Point t = ax.at(c.threshold, 0.0);
  cv::line(img, {t.x, ax.area.y}, t, kThreshold, 2, cv::LINE_AA);

  const int lx = area.x + 12, ly = area.y + 20;
  const std::pair<cv::Scalar, std::string> legend[] = {
      {kGenuine, "genuine (" + std::to_string(c.scores.genuine.size()) + ")"},
      {kImpostor, "impostor (" + std::to_string(c.scores.impostor.size()) + ")"},
      {kThreshold, "threshold " + threshold_text(c.threshold)},
  };
  for (size_t i = 0; i < 3; ++i) {
    const int y = ly + int(i) * 20;
    cv::rectangle(img, {lx, y - 10}, {lx + 18, y}, legend[i].first, cv::FILLED);
    text(img, legend[i].second, {lx + 26, y});
  }
}

void draw_roc(cv::Mat& img, const Calibration& c, cv::Rect area) {
  const auto& imp = c.scores.impostor;
  const auto& gen = c.scores.genuine;
  const double n_imp = double(imp.size()), n_gen = double(gen.size());
  // Decades from below both the target and one impostor's worth of FAR up to 1.
  const double lowest = std::min(c.far_target, 1.0 / n_imp);
  const Axes ax{area, std::pow(10.0, std::floor(std::log10(lowest))), 1.0, 0.0, 1.0, true};
  frame(img, ax, "ROC", "false-accept rate (log)", "1 - false-reject rate");
  for (double x = ax.x0; x <= 1.0001; x *= 10) x_tick(img, ax, x, x > 0.5 ? "1" : format("1e%.0f", std::log10(x)));
  for (double y = 0.0; y <= 1.0001; y += 0.2) y_tick(img, ax, y, format("%.1f", y));

  // Operating points at each distinct impostor score, from the strictest threshold down;
  // FAR 0 is drawn on the left edge.
  std::vector<cv::Point> curve;
  auto point = [&](float t) {
    const double fa = double(imp.end() - std::lower_bound(imp.begin(), imp.end(), t));
    const double ta = double(gen.end() - std::lower_bound(gen.begin(), gen.end(), t));
    return ax.at(std::max(fa / n_imp, ax.x0), ta / n_gen);
  };
  curve.push_back(point(std::nextafter(imp.back(), 2.f)));
  for (auto it = imp.rbegin(); it != imp.rend(); ++it)
    if (it + 1 == imp.rend() || *(it + 1) != *it) curve.push_back(point(*it));
  cv::polylines(img, curve, false, kGenuine, 2, cv::LINE_AA);

  const cv::Point target = ax.at(c.far_target, 0.0);
  for (int y = area.y; y < area.y + area.height; y += 10)
    cv::line(img, {target.x, y}, {target.x, std::min(y + 5, target.y)}, kInk, 1);
  text(img, "target " + format("%.0e", c.far_target), {target.x + 4, area.y + area.height - 8});

  const cv::Point chosen = ax.at(std::max(c.far(), ax.x0), 1.0 - c.frr());
  cv::circle(img, chosen, 6, kThreshold, 2, cv::LINE_AA);
  const std::string label = "FAR " + format("%.2g", c.far()) + ", 1-FRR " + format("%.4f", 1.0 - c.frr());
  const bool right_half = chosen.x > area.x + area.width / 2;
  const bool lower_half = chosen.y > area.y + area.height / 2;
  text(img, label, {chosen.x + (right_half ? -12 : 12), chosen.y + (lower_half ? -12 : 22)}, 0.45, kThreshold,
       right_half ? 1.0 : 0.0);
}

}  // namespace

void write_calibration_plot(const Calibration& c, const std::string& png_path) {
  cv::Mat img(kPlotHeight, kPlotWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const std::string title = "facegate calibration: " + cli::count(c.scores.identities, "identity", "identities") +
                            ", " + cli::count(c.scores.images, "image", "images") + "; threshold " +
                            threshold_text(c.threshold) + " for FAR <= " + format("%.0e", c.far_target) +
                            " (achieved " + format("%.2e", c.far()) + "), FRR " + format("%.2f%%", 100 * c.frr());
  text(img, title, {kPlotWidth / 2, 30}, 0.65, kInk, 0.5);
  const int half = kPlotWidth / 2;
  draw_histograms(img, c, {80, 110, half - 110, kPlotHeight - 180});
  draw_roc(img, c, {half + 80, 110, half - 110, kPlotHeight - 180});

  // Encoded here rather than by cv::imwrite, which picks the format from the (temp) file's name.
  std::vector<uint8_t> png;
  if (!media::plugin("write the --plot PNG").encode_png(img, png)) {
    throw std::runtime_error(png_path + ": OpenCV could not encode the PNG");
  }
  write_file_atomic(png_path, std::string(png.begin(), png.end()));
}

}  // namespace fg::apps
