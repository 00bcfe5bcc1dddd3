#include "media/blurhash.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace natter::media {
namespace {

constexpr std::string_view kBase83 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

void AppendBase83(std::string& out, int value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    int divisor = 1;
    for (int k = 0; k < i; ++k) divisor *= 83;
    out += kBase83[(value / divisor) % 83];
  }
}

double ToLinear(unsigned char v) {
  double c = v / 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

int ToSrgb(double v) {
  v = std::clamp(v, 0.0, 1.0);
  double c = v <= 0.0031308 ? v * 12.92 : 1.055 * std::pow(v, 1 / 2.4) - 0.055;
  return static_cast<int>(std::lround(c * 255));
}

double SignPow(double v, double exp) { return std::copysign(std::pow(std::abs(v), exp), v); }

struct Rgb {
  double r = 0, g = 0, b = 0;
};

}  // namespace

std::string EncodeBlurHash(std::string_view rgb, int width, int height, int x_components, int y_components) {
  if (width <= 0 || height <= 0 || rgb.size() < static_cast<size_t>(width) * height * 3) return {};
  x_components = std::clamp(x_components, 1, 9);
  y_components = std::clamp(y_components, 1, 9);
  std::vector<double> linear(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < linear.size(); ++i) linear[i] = ToLinear(static_cast<unsigned char>(rgb[i]));

  std::vector<Rgb> factors;
  for (int j = 0; j < y_components; ++j) {
    for (int i = 0; i < x_components; ++i) {
      Rgb f;
      for (int y = 0; y < height; ++y) {
        double basis_y = std::cos(std::numbers::pi * j * y / height);
        for (int x = 0; x < width; ++x) {
          double basis = std::cos(std::numbers::pi * i * x / width) * basis_y;
          const double* p = &linear[(static_cast<size_t>(y) * width + x) * 3];
          f.r += basis * p[0];
          f.g += basis * p[1];
          f.b += basis * p[2];
        }
      }
      double scale = (i == 0 && j == 0 ? 1.0 : 2.0) / (static_cast<double>(width) * height);
      factors.push_back({f.r * scale, f.g * scale, f.b * scale});
    }
  }

  std::string out;
  AppendBase83(out, (x_components - 1) + (y_components - 1) * 9, 1);
  double max_value = 1;
  if (factors.size() > 1) {
    double actual = 0;
    for (size_t k = 1; k < factors.size(); ++k) {
      actual = std::max({actual, std::abs(factors[k].r), std::abs(factors[k].g), std::abs(factors[k].b)});
    }
    int quantised = std::clamp(static_cast<int>(std::floor(actual * 166 - 0.5)), 0, 82);
    max_value = (quantised + 1) / 166.0;
    AppendBase83(out, quantised, 1);
  } else {
    AppendBase83(out, 0, 1);
  }
  const Rgb& dc = factors[0];
  AppendBase83(out, (ToSrgb(dc.r) << 16) + (ToSrgb(dc.g) << 8) + ToSrgb(dc.b), 4);
  for (size_t k = 1; k < factors.size(); ++k) {
    auto quant = [&](double v) {
      return std::clamp(static_cast<int>(std::floor(SignPow(v / max_value, 0.5) * 9 + 9.5)), 0, 18);
    };
    AppendBase83(out, quant(factors[k].r) * 19 * 19 + quant(factors[k].g) * 19 + quant(factors[k].b), 2);
  }
  return out;
}

}  // namespace natter::media
