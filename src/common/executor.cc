#include "common/executor.h"

namespace natter {
namespace {

class Inline final : public Executor {
 public:
  void Post(std::function<void()> task) override { task(); }
};

}  // namespace

Executor& InlineExecutor() {
  static Inline executor;
  return executor;
}

}  // namespace natter
