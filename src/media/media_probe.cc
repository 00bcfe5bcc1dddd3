#include "media/media_probe.h"

#include <vector>

#include "media/file_io.h"

namespace natter::media {
namespace {

uint64_t Be(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

uint64_t Le(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i > 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i - 1]);
  return v;
}

// Reads [offset, offset + n) of the file, or less at its end.
class Slices {
 public:
  explicit Slices(const std::string& path) : path_(path) {
    auto size = FileSize(path);
    size_ = size.ok() ? *size : 0;
  }
  int64_t size() const { return size_; }
  std::string Read(int64_t offset, size_t n) const {
    if (offset < 0 || offset >= size_) return {};
    auto r = ReadSlice(path_, offset, n);
    return r.ok() ? std::move(*r) : std::string();
  }

 private:
  const std::string& path_;
  int64_t size_ = 0;
};

struct Box {
  int64_t start = 0;  // of the payload
  int64_t end = 0;    // of the box
  std::string type;
};

// The boxes in [begin, end), in order; stops at the first malformed one.
std::vector<Box> Boxes(const Slices& file, int64_t begin, int64_t end) {
  std::vector<Box> out;
  int64_t at = begin;
  while (at + 8 <= end && out.size() < 256) {
    std::string head = file.Read(at, 16);
    if (head.size() < 8) break;
    int64_t size = static_cast<int64_t>(Be(head, 0, 4));
    int64_t header = 8;
    if (size == 1) {
      if (head.size() < 16) break;
      size = static_cast<int64_t>(Be(head, 8, 8));
      header = 16;
    } else if (size == 0) {
      size = end - at;  // to the end
    }
    if (size < header || size > end - at) break;
    out.push_back(Box{at + header, at + size, head.substr(4, 4)});
    at += size;
  }
  return out;
}

const Box* Find(const std::vector<Box>& boxes, std::string_view type) {
  for (const auto& b : boxes) {
    if (b.type == type) return &b;
  }
  return nullptr;
}

MediaProbe ProbeIsoBmff(const Slices& file) {
  MediaProbe probe;
  auto top = Boxes(file, 0, file.size());
  const Box* moov = Find(top, "moov");
  if (!moov) return probe;
  auto inside = Boxes(file, moov->start, moov->end);
  if (const Box* mvhd = Find(inside, "mvhd")) {
    std::string b = file.Read(mvhd->start, 32);
    if (b.size() >= 32) {
      bool v1 = b[0] == 1;
      uint64_t timescale = v1 ? Be(b, 20, 4) : Be(b, 12, 4);
      uint64_t duration = v1 ? Be(b, 24, 8) : Be(b, 16, 4);
      if (timescale > 0 && duration < (uint64_t{1} << 53)) {
        probe.duration_ms = static_cast<int64_t>(duration * 1000 / timescale);
      }
    }
  }
  int traks = 0;
  for (const auto& trak : inside) {
    if (trak.type != "trak") continue;
    if (++traks > 16) break;  // a crafted file of thousands of tracks costs no more
    auto in_trak = Boxes(file, trak.start, trak.end);
    const Box* tkhd = Find(in_trak, "tkhd");
    if (!tkhd) continue;
    std::string b = file.Read(tkhd->start, 96);
    size_t dims = b.size() >= 1 && b[0] == 1 ? 88 : 76;  // width, height: 16.16 fixed point
    if (b.size() < dims + 8) continue;
    int width = static_cast<int>(Be(b, dims, 4) >> 16);
    int height = static_cast<int>(Be(b, dims + 4, 4) >> 16);
    if (width > 0 && height > 0) {
      probe.width = width;
      probe.height = height;
      break;
    }
  }
  return probe;
}

MediaProbe ProbeOggOpus(const Slices& file) {
  MediaProbe probe;
  // The first page holds the OpusHead packet: pre-skip at its offset 10.
  std::string first = file.Read(0, 64);
  if (first.size() < 28) return probe;
  size_t segments = static_cast<unsigned char>(first[26]);
  size_t head = 27 + segments;
  if (first.size() < head + 19 || first.substr(head, 8) != "OpusHead") return probe;
  uint64_t pre_skip = Le(first, head + 10, 2);
  // The last page's granule position counts 48 kHz samples from the start.
  int64_t tail_from = std::max<int64_t>(0, file.size() - 65536);
  std::string tail = file.Read(tail_from, 65536);
  size_t last = tail.rfind("OggS");
  if (last == std::string::npos || tail.size() < last + 14) return probe;
  uint64_t granule = Le(tail, last + 6, 8);
  if (granule > pre_skip && granule < (uint64_t{1} << 53)) {
    probe.duration_ms = static_cast<int64_t>((granule - pre_skip) * 1000 / 48000);
  }
  return probe;
}

MediaProbe ProbeWav(const Slices& file) {
  MediaProbe probe;
  uint64_t byte_rate = 0;
  int64_t at = 12;
  for (int i = 0; i < 64 && at + 8 <= file.size(); ++i) {
    std::string h = file.Read(at, 8);
    if (h.size() < 8) break;
    uint64_t size = Le(h, 4, 4);
    if (h.substr(0, 4) == "fmt ") {
      std::string fmt = file.Read(at + 8, 16);
      if (fmt.size() >= 12) byte_rate = Le(fmt, 8, 4);
    } else if (h.substr(0, 4) == "data") {
      if (byte_rate > 0) probe.duration_ms = static_cast<int64_t>(size * 1000 / byte_rate);
      break;
    }
    at += 8 + static_cast<int64_t>(size) + static_cast<int64_t>(size & 1);
  }
  return probe;
}

}  // namespace

MediaProbe ProbeMedia(const std::string& path, std::string_view mime) {
  Slices file(path);
  if (mime == "video/mp4" || mime == "audio/mp4" || mime == "video/quicktime" || mime == "video/3gpp") {
    return ProbeIsoBmff(file);
  }
  if (mime == "audio/ogg") return ProbeOggOpus(file);
  if (mime == "audio/wav") return ProbeWav(file);
  return {};
}

}  // namespace natter::media
