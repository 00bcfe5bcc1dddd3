#include "media/media_processor.h"

#include "media/file_io.h"
#include "media/media_probe.h"
#include "media/sigv4.h"

namespace natter::media {
namespace {

Result<StoredVariant> StoreBytes(ObjectCatalog& objects, const EncodedImage& image) {
  StoredVariant v{HexSha256(image.bytes), image.mime, static_cast<int64_t>(image.bytes.size())};
  NATTER_TRY(v.generation, objects.StoreBytes(image.bytes, v.sha256));
  return v;
}

Status AddImage(Attachment& a, const std::string& path, ObjectCatalog& objects, const MediaLimits& limits) {
  NATTER_TRY(auto header, ReadImageHeader(path, limits.image));
  NATTER_TRY(auto derived, MakeImageDerivatives(path, limits.image));
  NATTER_TRY(a.variants["thumb"], StoreBytes(objects, derived.thumb));
  a.blurhash = std::move(derived.blurhash);
  if (a.mime == "image/gif") {
    // Animation is the point of a GIF, and it carries no camera metadata.
    NATTER_TRY(std::string sha, Sha256OfFile(path));
    NATTER_TRY(int64_t generation, objects.StoreFile(path, sha));
    a.variants["main"] = StoredVariant{sha, a.mime, a.size, generation};
    a.width = header.width;
    a.height = header.height;
    return OkStatus();
  }
  NATTER_TRY(a.variants["main"], StoreBytes(objects, derived.display));
  a.mime = derived.display.mime;
  a.size = static_cast<int64_t>(derived.display.bytes.size());
  a.width = derived.display.width;
  a.height = derived.display.height;
  return OkStatus();
}

}  // namespace

Result<Attachment> ProcessUpload(const MediaUpload& upload, const std::string& path, ObjectCatalog& objects,
                                 const MediaLimits& limits) {
  NATTER_TRY(int64_t size, FileSize(path));
  if (size != upload.size) {
    return Conflict("the upload holds " + std::to_string(size) + " of its " + std::to_string(upload.size) + " bytes");
  }
  NATTER_TRY(std::string head, ReadSlice(path, 0, kSniffBytes));
  Sniffed sniffed = SniffContent(head);
  NATTER_RETURN_IF_ERROR(CheckDeclaredType(upload.declared_mime, sniffed));
  if (size > MaxBytesFor(limits, sniffed.kind)) {
    return TooLarge("a " + std::string(MediaKindName(sniffed.kind)) + " may have at most " +
                    std::to_string(MaxBytesFor(limits, sniffed.kind)) + " bytes");
  }
  Attachment a;
  a.id = upload.id;
  a.kind = sniffed.kind;
  // Bytes natterd cannot name keep the declared type for display; they are
  // served as application/octet-stream whatever it says.
  std::string declared = CheckedMime(upload.declared_mime);
  a.mime = sniffed.mime != "application/octet-stream" ? sniffed.mime : declared;
  a.size = size;
  a.filename = upload.filename;
  if (a.kind == MediaKind::kImage) {
    NATTER_RETURN_IF_ERROR(AddImage(a, path, objects, limits));
    return a;
  }
  if (a.kind == MediaKind::kAudio || a.kind == MediaKind::kVideo) {
    MediaProbe probe = ProbeMedia(path, a.mime);
    a.duration_ms = probe.duration_ms;
    a.width = probe.width;
    a.height = probe.height;
  }
  NATTER_TRY(std::string sha, Sha256OfFile(path));
  NATTER_TRY(int64_t generation, objects.StoreFile(path, sha));
  a.variants["main"] = StoredVariant{sha, a.mime, size, generation};
  return a;
}

}  // namespace natter::media
