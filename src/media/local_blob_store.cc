#include "media/local_blob_store.h"

#include "media/object_catalog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/private_files.h"
#include "media/file_io.h"

namespace natter::media {
namespace {

namespace fs = std::filesystem;

// Makes a rename inside `dir` durable.
void SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

LocalBlobStore::LocalBlobStore(std::string root) : root_(std::move(root)) {
  MakePrivateDirectory(root_);
  MakePrivateDirectory(root_ + "/uploads");
  MakePrivateDirectory(root_ + "/blobs");
}

std::string LocalBlobStore::UploadPath(int64_t upload_id) const {
  return root_ + "/uploads/" + std::to_string(upload_id);
}

std::string LocalBlobStore::BlobPath(std::string_view name) const {
  return root_ + "/blobs/" + std::string(name.substr(0, 2)) + "/" + std::string(name);
}

Result<std::string> LocalBlobStore::PrepareTarget(std::string_view name) const {
  if (!IsObjectName(name)) return Internal("not an object name: " + std::string(name));
  std::string target = BlobPath(name);
  std::string dir = fs::path(target).parent_path().string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  return target;
}

Status LocalBlobStore::PutFile(const std::string& path, std::string_view name) {
  NATTER_TRY(std::string target, PrepareTarget(name));
  std::string dir = fs::path(target).parent_path().string();
  std::error_code ec;
  NATTER_RETURN_IF_ERROR(SyncFile(path));
  // Same name, same bytes: an object already there stays.
  if (fs::exists(target, ec)) return OkStatus();
  // A second name for the same bytes (uploads and objects share a file
  // system): nothing copied, and the upload's file stays until its caller
  // has recorded the outcome.
  if (::link(path.c_str(), target.c_str()) != 0 && errno != EEXIST) {
    return Internal("cannot link " + path + " to " + target + ": " + std::strerror(errno));
  }
  SyncDirectory(dir);
  return OkStatus();
}

Status LocalBlobStore::PutBytes(std::string_view bytes, std::string_view name) {
  NATTER_TRY(std::string target, PrepareTarget(name));
  std::string dir = fs::path(target).parent_path().string();
  std::error_code ec;
  if (fs::exists(target, ec)) return OkStatus();
  NATTER_RETURN_IF_ERROR(WriteFileAtomically(target, bytes));
  SyncDirectory(dir);
  return OkStatus();
}

Status LocalBlobStore::Delete(std::string_view name) {
  if (!IsObjectName(name)) return Internal("not an object name: " + std::string(name));
  std::error_code ec;
  fs::remove(BlobPath(name), ec);
  if (ec) return Internal("cannot delete " + BlobPath(name) + ": " + ec.message());
  return OkStatus();
}

}  // namespace natter::media
