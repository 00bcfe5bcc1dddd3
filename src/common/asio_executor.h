// An Executor over an Asio io_context: tasks run on the thread that runs it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/executor.h"
#include "common/request_id.h"

namespace natter {

class AsioExecutor final : public Executor {
 public:
  explicit AsioExecutor(boost::asio::io_context& ioc) : ioc_(ioc) {}
  // The request the poster works for stays current while the task runs.
  void Post(std::function<void()> task) override {
    if (RequestId request = CurrentRequestId(); !request.empty()) {
      return boost::asio::post(ioc_, [request, task = std::move(task)] {
        ScopedRequestId scope(request);
        task();
      });
    }
    boost::asio::post(ioc_, std::move(task));
  }

 private:
  boost::asio::io_context& ioc_;
};

}  // namespace natter
