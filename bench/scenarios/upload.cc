// Scenario 7: media uploads. U uploaders at once (a thread and a keep-alive
// HTTP connection each) first send F files of S MiB (media.create, then tus
// PATCHes of 1 MiB), then P photos each (a JPEG of W x H made once with
// libvips): natterd checks each photo, re-encodes it upright without
// metadata, makes its thumbnail and BlurHash, and only then answers the last
// PATCH. Every upload is checked: its last answer must say it is complete,
// and a photo must come back as an image of the right size.
// Figures: upload throughput, server CPU per MiB, and per photo the time of
// its last PATCH (the photo's processing, plus one chunk on loopback).
#include <vips/vips.h>

#include <boost/json.hpp>
#include <random>
#include <thread>

#include "bench/http_client.h"
#include "bench/scenario.h"

namespace natter::bench {
namespace {

constexpr int64_t kChunk = 1 << 20;

// A photo-like JPEG: smooth noise, so it neither compresses to nothing nor
// costs what pure noise would.
std::string MakePhoto(int width, int height, std::string& error) {
  if (VIPS_INIT("natter-bench")) {
    error = "libvips did not start";
    return "";
  }
  VipsImage *noise = nullptr, *smooth = nullptr, *bytes = nullptr, *rgb = nullptr;
  void* buffer = nullptr;
  size_t size = 0;
  std::string out;
  if (vips_gaussnoise(&noise, width / 8, height / 8, "mean", 128.0, "sigma", 60.0, nullptr) == 0 &&
      vips_resize(noise, &smooth, 8.0, nullptr) == 0 && vips_cast_uchar(smooth, &bytes, nullptr) == 0 &&
      vips_bandjoin_const1(bytes, &rgb, 90.0, nullptr) == 0) {
    VipsImage* three = nullptr;
    if (vips_bandjoin_const1(rgb, &three, 200.0, nullptr) == 0 &&
        vips_jpegsave_buffer(three, &buffer, &size, "Q", 85, nullptr) == 0) {
      out.assign(static_cast<const char*>(buffer), size);
      g_free(buffer);
    }
    if (three) g_object_unref(three);
  }
  for (VipsImage* img : {noise, smooth, bytes, rgb}) {
    if (img) g_object_unref(img);
  }
  if (out.empty()) error = std::string("libvips: ") + vips_error_buffer();
  return out;
}

struct Upload {
  bool ok = false;
  std::string error;
  boost::json::object attachment;  // from the answer to media.get
  int64_t last_patch_ns = 0;
};

// One file through tus on `http`, as a client would send it.
Upload SendFile(HttpClient& http, const std::string& token, const std::string& bytes, const std::string& mime) {
  Upload up;
  std::string create = boost::json::serialize(
      boost::json::object{{"size", static_cast<int64_t>(bytes.size())}, {"mime", mime}, {"filename", "bench"}});
  auto created = http.Request("POST", "/v1/media/uploads", create, token);
  if (!created.ok()) {
    up.error = "media.create: " + std::to_string(created.status) + " " + created.body.substr(0, 200) + created.error;
    return up;
  }
  boost::system::error_code ec;
  auto target = boost::json::parse(created.body, ec);
  const auto* url = !ec && target.is_object() ? target.as_object().if_contains("upload_url") : nullptr;
  if (!url || !url->is_string()) {
    up.error = "media.create answered no tus URL (is the S3 backend on?)";
    return up;
  }
  std::string location(url->as_string());
  for (int64_t offset = 0; offset < static_cast<int64_t>(bytes.size()); offset += kChunk) {
    std::string chunk = bytes.substr(static_cast<size_t>(offset), kChunk);
    bool last = offset + static_cast<int64_t>(chunk.size()) == static_cast<int64_t>(bytes.size());
    int64_t began = NowNs();
    auto answer = http.Request("PATCH", location, chunk, token,
                               {{"Tus-Resumable", "1.0.0"},
                                {"Upload-Offset", std::to_string(offset)},
                                {"Content-Type", "application/offset+octet-stream"}});
    if (answer.status != 204) {
      up.error = "PATCH at " + std::to_string(offset) + ": " + std::to_string(answer.status) + " " +
                 answer.body.substr(0, 200) + answer.error;
      return up;
    }
    if (last) up.last_patch_ns = NowNs() - began;
  }
  auto info = http.Request("GET", location, "", token);
  auto parsed = boost::json::parse(info.body, ec);
  const auto* a = !ec && parsed.is_object() ? parsed.as_object().if_contains("attachment") : nullptr;
  if (!info.ok() || !a || !a->is_object()) {
    up.error = "media.get after the last PATCH: " + info.body.substr(0, 200);
    return up;
  }
  up.attachment = a->as_object();
  up.ok = true;
  return up;
}

}  // namespace

ScenarioReport RunUpload(RunContext& ctx) {
  ScenarioReport report;
  report.name = "upload";
  report.title = "Media uploads: files and photos";
  const BenchConfig& cfg = ctx.cfg;
  const int uploaders = std::max(1, cfg.upload_clients);
  std::string error;
  if (!ctx.prov->EnsureUsers(ctx.users, uploaders, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  report.parameters = {{"uploaders", uploaders},
                       {"files_each", cfg.upload_files},
                       {"file_mib", cfg.upload_file_mib},
                       {"photos_each", cfg.upload_photos},
                       {"photo", std::to_string(cfg.photo_width) + "x" + std::to_string(cfg.photo_height)},
                       {"chunk_bytes", kChunk}};
  const Endpoint server = cfg.servers.front();
  RunScenarioWorkers(ctx, report, 1, 600, [&](WorkerControl& control) {
    Stats stats;
    std::string why;
    std::string photo = MakePhoto(cfg.photo_width, cfg.photo_height, why);
    if (photo.empty()) {
      stats.Problem("no photo to send: " + why);
      return stats;
    }
    std::mt19937_64 rng(7);
    std::string file(static_cast<size_t>(cfg.upload_file_mib) << 20, '\0');
    for (auto& c : file) c = static_cast<char>(rng());
    std::mutex mu;  // guards stats
    auto run = [&](const std::string& phase, const std::string& bytes, const std::string& mime, int each) {
      SetPhase(phase);
      control.Barrier("start:" + phase);
      std::vector<std::thread> threads;
      for (int u = 0; u < uploaders; ++u) {
        threads.emplace_back([&, u] {
          HttpClient http(server.host, server.port, 120000);
          std::string mine = bytes;
          for (int i = 0; i < each; ++i) {
            // Files differ from each other (each is stored); photos are the
            // same picture (each is still decoded and re-encoded).
            if (mime != "image/jpeg") std::snprintf(mine.data(), 24, "%08d:%08d:", u, i);
            Upload up = SendFile(http, ctx.users[u].token, mine, mime);
            std::lock_guard lock(mu);
            if (!up.ok) {
              stats.Problem(phase + ": " + up.error);
              return;
            }
            bool photo_ok =
                mime != "image/jpeg" || (up.attachment.contains("kind") && up.attachment.at("kind") == "image" &&
                                         up.attachment.contains("width") && up.attachment.at("width").as_int64() > 0);
            int64_t size = up.attachment.contains("size") ? up.attachment.at("size").as_int64() : -1;
            if (!photo_ok || (mime != "image/jpeg" && size != static_cast<int64_t>(bytes.size()))) {
              stats.Error(phase + ": the upload came back as " + boost::json::serialize(up.attachment));
            }
            stats.Add(phase + "_done");
            stats.Add(phase + "_bytes", static_cast<int64_t>(bytes.size()));
            stats.Record(phase + ".last_patch", up.last_patch_ns);
          }
        });
      }
      for (auto& t : threads) t.join();
      control.Barrier("end:" + phase);
    };
    run("files", file, "application/octet-stream", cfg.upload_files);
    run("photos", photo, "image/jpeg", cfg.upload_photos);
    stats.Add("photo_bytes", static_cast<int64_t>(photo.size()));
    return stats;
  });
  const Stats& s = report.stats;
  for (const char* phase : {"files", "photos"}) {
    auto it = report.phases.find(phase);
    if (it == report.phases.end()) continue;
    double mib = static_cast<double>(s.Get(std::string(phase) + "_bytes")) / (1 << 20);
    double seconds = std::max(1e-9, it->second.seconds());
    report.Add(std::string(phase) + "_mib_per_s", std::string(phase) + ": upload throughput", mib / seconds, "MiB/s");
    report.Add(std::string(phase) + "_per_s", std::string(phase) + ": uploads completed",
               static_cast<double>(s.Get(std::string(phase) + "_done")) / seconds, "/s");
    report.AddPhaseCpu(phase, phase, mib, "MiB", 1);
  }
  report.Add("photo_kib", "photo size", static_cast<double>(s.Get("photo_bytes")) / 1024, "KiB");
  report.AddLatency("photo_processing", "photo: last PATCH (check, re-encode, thumbnail)", "photos.last_patch");
  report.notes.push_back("each uploader sends one request at a time (a closed loop), as a phone does");
  return report;
}

}  // namespace natter::bench
