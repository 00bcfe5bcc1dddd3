// An Executor over an Asio io_context: tasks run on the thread that runs it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/executor.h"

namespace natter {

class AsioExecutor final : public Executor {
 public:
  explicit AsioExecutor(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void Post(std::function<void()> task) override { boost::asio::post(ioc_, std::move(task)); }

 private:
  boost::asio::io_context& ioc_;
};

}  // namespace natter
