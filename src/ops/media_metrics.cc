#include "ops/media_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace natter::ops {
namespace {

constexpr const char* kOutcomes[] = {"ready", "refused", "failed"};
constexpr const char* kPools[] = {"io", "work"};

}  // namespace

void MediaMetrics::Render(std::string& out) const {
  out +=
      "# HELP natter_media_uploads_total Processings of uploads: ready, refused (their bytes were not what they "
      "claimed, or too large), or failed with the upload kept to try again (a full queue, the object store).\n"
      "# TYPE natter_media_uploads_total counter\n";
  for (size_t o = 0; o < std::size(kOutcomes); ++o) {
    out += fmt::format("natter_media_uploads_total{{result=\"{}\"}} {}\n", kOutcomes[o],
                       outcomes_[o].load(std::memory_order_relaxed));
  }
  out += fmt::format(
      "# HELP natter_media_processed_bytes_total Bytes of the uploads that became ready.\n"
      "# TYPE natter_media_processed_bytes_total counter\nnatter_media_processed_bytes_total {}\n"
      "# HELP natter_media_served_bytes_total Bytes of attachments natterd served itself (local storage).\n"
      "# TYPE natter_media_served_bytes_total counter\nnatter_media_served_bytes_total {}\n",
      processed_bytes_.load(std::memory_order_relaxed), served_bytes_.load(std::memory_order_relaxed));
  processing_.Render(out, "natter_media_processing_seconds",
                     "Time to check and process one upload (hashing, images' derivatives, storing).");
  out +=
      "# HELP natter_media_queue_depth Work waiting in a media pool (io: files and the object store; work: "
      "processing).\n"
      "# TYPE natter_media_queue_depth gauge\n";
  for (size_t p = 0; p < std::size(kPools); ++p) {
    out += fmt::format("natter_media_queue_depth{{pool=\"{}\"}} {}\n", kPools[p],
                       std::max<int64_t>(0, queued_[p].load(std::memory_order_relaxed)));
  }
  out +=
      "# HELP natter_media_queue_rejected_total Work a full media pool turned away (answered unavailable).\n"
      "# TYPE natter_media_queue_rejected_total counter\n";
  for (size_t p = 0; p < std::size(kPools); ++p) {
    out += fmt::format("natter_media_queue_rejected_total{{pool=\"{}\"}} {}\n", kPools[p],
                       rejected_[p].load(std::memory_order_relaxed));
  }
  out += fmt::format(
      "# HELP natter_media_store_errors_total Storage calls that failed (object store or disk).\n"
      "# TYPE natter_media_store_errors_total counter\nnatter_media_store_errors_total {}\n"
      "# HELP natter_media_objects_deleted_total Stored objects deleted once nothing used them.\n"
      "# TYPE natter_media_objects_deleted_total counter\nnatter_media_objects_deleted_total {}\n",
      store_errors_.load(std::memory_order_relaxed), objects_deleted_.load(std::memory_order_relaxed));
}

}  // namespace natter::ops
